/**
 * Production monitoring: "Monitor job execution times (alert if >30s)". A job run that ended in
 * the window and took longer than its limit -> WARN, one incident per job. A sync's limit grows
 * with the pages it read: a 10,000-contact HubSpot sync is slow because the API's rate limit says
 * so, not because something is wrong.
 */
import { isJobName } from '../../jobs';
import type { WatchersConfig } from '../../watchers-config';
import type { Watcher, WatcherFinding } from './types';

export const LONG_RUNS_INCIDENT = 'long_run';

type LongRunsConfig = WatchersConfig['longRuns'];

/** The limit of one run of `job`, in ms, given the pages it read. */
export function runLimitMs(config: LongRunsConfig, job: string, pages: number): number {
  const base = (isJobName(job) ? config.perJobSeconds[job] : undefined) ?? config.defaultSeconds;
  return Math.round((base + config.perPageSeconds * pages) * 1000);
}

/** A page count only counts when it is a sane one: output_data is ours, but it is still read back from a table. */
const MAX_PAGES = 1_000_000;
const pageCount = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.min(Math.floor(value), MAX_PAGES) : 0;

/**
 * Pages a run read, from its audit output: a sync job writes `{ pages }`; periodic_scan writes
 * `{ sources: [{ pages }, ...] }` and syncs its sources in parallel (each on its own rate-limited
 * queue), so its time follows its largest source, not their sum.
 */
export function pagesOf(outputData: string | null): number {
  if (!outputData) return 0;
  let output: unknown;
  try {
    output = JSON.parse(outputData);
  } catch {
    return 0;
  }
  if (typeof output !== 'object' || output === null) return 0;
  const record = output as { pages?: unknown; sources?: unknown };
  if (record.pages !== undefined) return pageCount(record.pages);
  if (!Array.isArray(record.sources)) return 0;
  return record.sources.reduce<number>((max, s) => Math.max(max, pageCount((s as { pages?: unknown } | null)?.pages)), 0);
}

interface LongRun {
  ms: number;
  limitMs: number;
  pages: number;
  at: string;
  workflowId: string | null;
}

export const longRunsWatcher: Watcher = {
  name: 'long_runs',
  incidentType: LONG_RUNS_INCIDENT,
  async check({ db, config, now }) {
    const settings = config.watchers.longRuns;
    const since = new Date(now.getTime() - settings.windowMinutes * 60_000).toISOString();
    // The smallest limit any job can have: runs under it cannot be long, so they are not read.
    const floorMs = Math.min(settings.defaultSeconds, ...Object.values(settings.perJobSeconds)) * 1000;
    const rows = await db
      .selectFrom('agent_audit_log')
      .select(['action', 'duration_ms', 'output_data', 'ts', 'workflow_id'])
      .where('ts', '>=', since)
      .where('ts', '<=', now.toISOString())
      .where('action_type', '=', 'system')
      .where('outcome', 'is not', null)
      .where('duration_ms', '>', floorMs)
      .execute();

    const byJob = new Map<string, LongRun[]>();
    for (const row of rows) {
      const pages = pagesOf(row.output_data);
      const limitMs = runLimitMs(settings, row.action, pages);
      const ms = Number(row.duration_ms);
      if (ms <= limitMs) continue;
      const runs = byJob.get(row.action) ?? [];
      runs.push({ ms, limitMs, pages, at: row.ts, workflowId: row.workflow_id });
      byJob.set(row.action, runs);
    }

    const findings: WatcherFinding[] = [...byJob].map(([job, runs]) => {
      const longest = runs.reduce((a, b) => (b.ms - b.limitMs > a.ms - a.limitMs ? b : a));
      const pages = longest.pages > 0 ? ` for ${longest.pages} page(s)` : '';
      return {
        subject: job,
        job,
        severity: 'WARN',
        title: `${job} ran ${seconds(longest.ms)} (limit ${seconds(longest.limitMs)}${pages})`,
        body:
          `${runs.length} run(s) of ${job} in the last ${settings.windowMinutes} min took longer than their limit. ` +
          `Longest over its limit: ${seconds(longest.ms)} against ${seconds(longest.limitMs)}, ended ${longest.at}` +
          (longest.workflowId ? ` (workflow ${longest.workflowId}).` : '.'),
      };
    });
    return {
      findings,
      summary: findings.length
        ? `${findings.length} job(s) with runs over their time limit in ${settings.windowMinutes} min`
        : `no run over its time limit in ${settings.windowMinutes} min (${rows.length} over ${seconds(floorMs)} checked)`,
      cleared: `no run over its time limit in the last ${settings.windowMinutes} min`,
    };
  },
};

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
