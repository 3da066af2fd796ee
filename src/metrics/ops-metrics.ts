/**
 * What GET /metrics serves: our figures, read from the store at scrape time (right across every
 * worker process and restart), this process's Node.js figures, and the Temporal SDK's own text
 * appended. A store that is down or slow costs the store's figures and sets ops_store_up 0; the
 * rest is served anyway. Concurrent scrapes share one read, so scraping never multiplies store load.
 */
import { Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Store } from '../store';
import { INCIDENT_SEVERITIES } from '../store';
import { scrapeSdkMetrics } from './sdk-scrape';
import { bucketUse, controlFigures, deadLettersByStatus, heldNotifications, openIncidents, type BucketUse, type ControlFigures } from './store-gauges';
import { ApiTally, RunTally, RUN_DURATION_BUCKETS, type ApiTotals, type RunTotals } from './store-tallies';
import { parsePrometheusText, sampleNamesOf, withoutCollisions } from './text-format';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export interface OpsMetricsOptions {
  store: Store;
  config: Config;
  logger: Logger;
  /** Where the SDK's own metrics are served, if they are (src/runtime.ts's sdkMetricsEndpoint). */
  sdkEndpoint: () => string | undefined;
  /** The worker in this process, if any: its state as Temporal reports it. */
  workerState?: () => string;
  now?: () => Date;
  /** How long the store's reads may take in all; what is not in by then is left out of the scrape. */
  storeBudgetMs?: number;
  sdkTimeoutMs?: number;
}

const DEFAULT_STORE_BUDGET_MS = 2_000;
const DEFAULT_SDK_TIMEOUT_MS = 1_000;

/** Each figure of the store on its own: one that fails leaves the others in. */
interface StoreFigures {
  runs?: RunTotals[];
  api?: ApiTotals[];
  deadLetters?: Awaited<ReturnType<typeof deadLettersByStatus>>;
  incidents?: Awaited<ReturnType<typeof openIncidents>>;
  held?: number;
  controls?: ControlFigures;
  buckets?: BucketUse[];
  failed: { part: string; error: string }[];
  seconds: number;
}

interface SnapshotValue {
  labels: Record<string, string>;
  value: number;
  metricName?: string;
}

/**
 * A metric whose values are read from the store at scrape time, not counted here: set whole on
 * each scrape, or left empty when its read failed (prom-client's own unlabelled gauge would say 0,
 * which for the kill switch would be a lie). Its registry renders any metric object by its get();
 * its types only name prom-client's own classes, hence the cast where it is registered.
 */
class StoreSnapshot {
  readonly aggregator = 'sum';
  private values: SnapshotValue[] = [];
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}

  reset(): void {
    this.values = [];
  }

  set(values: SnapshotValue[]): void {
    this.values = values;
  }

  /** Per label set: cumulative counts at each bound, the number observed and their sum. */
  setHistogram(series: { labels: Record<string, string>; bounds: readonly number[]; cumulative: readonly number[]; count: number; sum: number }[]): void {
    this.values = series.flatMap(({ labels, bounds, cumulative, count, sum }) => [
      ...bounds.map((le, i) => ({ labels: { ...labels, le: String(le) }, value: cumulative[i]!, metricName: `${this.name}_bucket` })),
      { labels: { ...labels, le: '+Inf' }, value: count, metricName: `${this.name}_bucket` },
      { labels, value: sum, metricName: `${this.name}_sum` },
      { labels, value: count, metricName: `${this.name}_count` },
    ]);
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: SnapshotValue[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values };
  }
}

export class OpsMetrics {
  readonly registry = new Registry();
  private readonly runs = new RunTally();
  private readonly apiCalls = new ApiTally();
  private storeRead: Promise<StoreFigures> | undefined;
  private scraping: Promise<string> | undefined;
  private storeWasUp = true;
  private readonly snapshots: StoreSnapshot[] = [];

  private readonly m;

  constructor(private readonly opts: OpsMetricsOptions) {
    const registers = [this.registry];
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Gauge<L>({ name, help, labelNames, registers });
    const fromStore = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram') => {
      const metric = new StoreSnapshot(name, help, type);
      this.registry.registerMetric(metric as unknown as Metric);
      this.snapshots.push(metric);
      return metric;
    };
    this.m = {
      storeUp: gauge('ops_store_up', '1 when every store figure was read within the scrape budget, else 0 (those figures are left out)'),
      sdkUp: gauge('ops_sdk_metrics_up', '1 when the Temporal SDK metrics (temporal_*) were appended to this scrape, else 0'),
      workerUp: gauge('ops_worker_up', '1 when this process runs a worker that is RUNNING, 0 when it runs one that is not', ['state']),
      storeReadSeconds: fromStore('ops_store_read_seconds', 'How long the store figures of this scrape took to read', 'gauge'),
      runs: fromStore('ops_job_runs_total', 'Job runs that ended, by job_name and outcome (from the audit log; not "job", which Prometheus gives the scrape target)', 'counter'),
      runDurations: fromStore('ops_job_run_duration_seconds', 'How long job runs took, by job_name (from the audit log)', 'histogram'),
      deadLetters: fromStore('ops_dead_letters', 'Dead letters not resolved, by status (open: waiting for a replay; exhausted: out of retries)', 'gauge'),
      incidents: fromStore('ops_incidents_open', 'Open incidents by severity, and whether the operator acknowledged them', 'gauge'),
      apiRequests: fromStore('ops_api_requests_total', 'Requests made to external APIs, by service', 'counter'),
      apiThrottled: fromStore('ops_api_throttled_total', 'Requests to external APIs answered HTTP 429, by service', 'counter'),
      apiFailed: fromStore('ops_api_failed_total', 'Requests to external APIs that failed (429s included), by service', 'counter'),
      bucketRequests: fromStore('ops_rate_limit_window_requests', "Requests to a source in its rate limit's window ending now", 'gauge'),
      bucketAllowed: fromStore('ops_rate_limit_window_allowed', "What a source's rate limit allows in that window", 'gauge'),
      bucketUsage: fromStore('ops_rate_limit_usage_ratio', "Requests in the window over what the source's limit allows in it (1 = at the limit)", 'gauge'),
      killSwitch: fromStore('ops_kill_switch', '1 when the kill switch is on (as ops-controls last mirrored it to the store; the configured default before its first change)', 'gauge'),
      controls: fromStore('ops_control_enabled', 'Each on/off control: 1 on, 0 off (quietHours: quiet hours on)', 'gauge'),
      controlsVersion: fromStore('ops_controls_version', 'Version of the controls state in the store (0: no change yet, the configured defaults)', 'gauge'),
      held: fromStore('ops_notifications_held', 'Notifications held for the next daily digest', 'gauge'),
    };
    collectDefaultMetrics({ register: this.registry });
  }

  /** The whole exposition text. Concurrent callers get the same scrape. */
  scrape(): Promise<string> {
    this.scraping ??= this.scrapeOnce().finally(() => (this.scraping = undefined));
    return this.scraping;
  }

  private async scrapeOnce(): Promise<string> {
    const budget = this.opts.storeBudgetMs ?? DEFAULT_STORE_BUDGET_MS;
    const [figures, sdk] = await Promise.all([
      this.storeFiguresWithin(budget),
      scrapeSdkMetrics(this.opts.sdkEndpoint(), this.opts.sdkTimeoutMs ?? DEFAULT_SDK_TIMEOUT_MS),
    ]);
    const comments: string[] = [];
    this.applyStore(figures, budget, comments);
    this.applyWorker();

    let sdkText = '';
    let sdkProblem = sdk.ok ? undefined : sdk.reason;
    if (sdk.ok) {
      try {
        // Our families' names are fixed; theirs, whatever the SDK version makes: one of theirs
        // that takes a name of ours is left out rather than served twice.
        const merged = withoutCollisions(parsePrometheusText(sdk.text), this.ourNames());
        sdkText = merged.text;
        if (merged.dropped.length > 0) comments.push(`# SDK metric families left out (their names are ours): ${merged.dropped.join(', ')}`);
      } catch (err) {
        sdkProblem = `the SDK's text did not parse: ${(err as Error).message}`;
      }
    }
    this.m.sdkUp.set(sdkProblem === undefined ? 1 : 0);
    if (sdkProblem !== undefined) comments.push(`# Temporal SDK metrics not included: ${oneLine(sdkProblem)}`);

    const ours = await this.registry.metrics();
    return [ours.trimEnd(), ...comments, ...(sdkText ? ['# Temporal SDK metrics (temporal_*), from its own exporter', sdkText] : [])].join('\n') + '\n';
  }

  /** Every sample name our registry may use (families are fixed at construction; names only). */
  private ourNames(): Set<string> {
    const names = new Set<string>();
    for (const metric of this.registry.getMetricsAsArray() as unknown as { name: string; type: unknown }[]) {
      for (const name of [metric.name, ...sampleNamesOf(metric.name, String(metric.type))]) names.add(name);
    }
    return names;
  }

  /** The store's figures, or none if they are not in within `budgetMs`; one read at a time (a slow one is waited for, not repeated). */
  private async storeFiguresWithin(budgetMs: number): Promise<StoreFigures | undefined> {
    this.storeRead ??= this.readStore().finally(() => (this.storeRead = undefined));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), budgetMs)));
    try {
      return await Promise.race([this.storeRead, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readStore(): Promise<StoreFigures> {
    const { store, config } = this.opts;
    const now = this.opts.now?.() ?? new Date();
    const started = performance.now();
    const figures: StoreFigures = { failed: [], seconds: 0 };
    const parts: [name: string, read: () => Promise<void>][] = [
      ['runs', async () => void (figures.runs = await this.runs.read(store.db, now))],
      ['api_requests', async () => void (figures.api = await this.apiCalls.read(store.db, now))],
      ['dead_letters', async () => void (figures.deadLetters = await deadLettersByStatus(store.db))],
      ['incidents', async () => void (figures.incidents = await openIncidents(store.db))],
      ['held_notifications', async () => void (figures.held = await heldNotifications(store.db))],
      ['controls', async () => void (figures.controls = await controlFigures(store, config))],
      ['rate_limits', async () => void (figures.buckets = await bucketUse(store.db, config, now))],
    ];
    const results = await Promise.allSettled(parts.map(([, read]) => read()));
    results.forEach((result, i) => {
      if (result.status === 'rejected') figures.failed.push({ part: parts[i]![0], error: (result.reason as Error).message });
    });
    figures.seconds = (performance.now() - started) / 1000;
    return figures;
  }

  private applyStore(figures: StoreFigures | undefined, budgetMs: number, comments: string[]): void {
    const m = this.m;
    for (const metric of this.snapshots) metric.reset();
    const up = figures !== undefined && figures.failed.length === 0;
    m.storeUp.set(up ? 1 : 0);
    this.noteStoreState(up, figures, budgetMs);
    if (!figures) {
      comments.push(`# Store figures left out: the store did not answer within ${budgetMs} ms`);
      return;
    }
    if (figures.failed.length > 0) comments.push(`# Store figures left out (their read failed): ${figures.failed.map((f) => f.part).join(', ')}`);

    const one = (value: number): SnapshotValue[] => [{ labels: {}, value }];
    m.storeReadSeconds.set(one(figures.seconds));
    if (figures.runs) {
      m.runs.set(figures.runs.map((r) => ({ labels: { job_name: r.job, outcome: r.outcome }, value: r.runs })));
      m.runDurations.setHistogram(durationsByJob(figures.runs));
    }
    if (figures.api) {
      const per = (pick: (a: ApiTotals) => number) => figures.api!.map((a) => ({ labels: { service: a.service }, value: pick(a) }));
      m.apiRequests.set(per((a) => a.requests));
      m.apiThrottled.set(per((a) => a.throttled));
      m.apiFailed.set(per((a) => a.failed));
    }
    if (figures.deadLetters) m.deadLetters.set(Object.entries(figures.deadLetters).map(([status, value]) => ({ labels: { status }, value })));
    if (figures.incidents) {
      const counts = figures.incidents;
      m.incidents.set(
        INCIDENT_SEVERITIES.flatMap((severity) => [
          { labels: { severity, acknowledged: 'false' }, value: counts[severity].open },
          { labels: { severity, acknowledged: 'true' }, value: counts[severity].acknowledged },
        ]),
      );
    }
    if (figures.held !== undefined) m.held.set(one(figures.held));
    if (figures.controls) {
      m.killSwitch.set(one(figures.controls.killSwitch ? 1 : 0));
      m.controls.set(Object.entries(figures.controls.controls).map(([control, on]) => ({ labels: { control }, value: on ? 1 : 0 })));
      m.controlsVersion.set(one(figures.controls.version));
    }
    if (figures.buckets) {
      const per = (pick: (b: BucketUse) => number) => figures.buckets!.map((b) => ({ labels: { source: b.source }, value: pick(b) }));
      m.bucketRequests.set(per((b) => b.requests));
      m.bucketAllowed.set(per((b) => b.allowed));
      m.bucketUsage.set(per((b) => b.requests / b.allowed));
    }
  }

  private applyWorker(): void {
    this.m.workerUp.reset();
    const state = this.opts.workerState?.();
    if (state !== undefined) this.m.workerUp.set({ state: state.slice(0, 40) }, state === 'RUNNING' ? 1 : 0);
  }

  /** Logged when the store's figures go missing and when they come back, not on every scrape. */
  private noteStoreState(up: boolean, figures: StoreFigures | undefined, budgetMs: number): void {
    if (up === this.storeWasUp) return;
    this.storeWasUp = up;
    if (up) this.opts.logger.info('metrics: the store figures are back');
    else this.opts.logger.warn({ failed: figures?.failed, budgetMs }, 'metrics: store figures left out of /metrics (ops_store_up 0)');
  }
}

function durationsByJob(runs: readonly RunTotals[]) {
  const byJob = new Map<string, { count: number; sum: number; cumulative: number[] }>();
  for (const r of runs) {
    const had = byJob.get(r.job) ?? { count: 0, sum: 0, cumulative: RUN_DURATION_BUCKETS.map(() => 0) };
    had.count += r.timed;
    had.sum += r.seconds;
    r.buckets.forEach((n, i) => (had.cumulative[i]! += n));
    byJob.set(r.job, had);
  }
  return [...byJob].map(([job, h]) => ({ labels: { job_name: job }, bounds: RUN_DURATION_BUCKETS, ...h }));
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').slice(0, 300);
