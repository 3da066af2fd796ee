/**
 * The chaos scenarios. Each gets a namespace, a store and fakes of its own, runs its workers as
 * processes (killable as in a crash), is bounded in time, and cleans up after itself.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CRASH_POINTS, type CrashPoint } from '../../src/activities/crash-points';
import type { JobResult } from '../../src/definitions';
import type { JobName } from '../../src/jobs';
import { sqlitePath } from '../../src/config';
import { N8N_WORKFLOW_FAILURES } from '../../src/activities/sources/n8n';
import { getSourceSync, listIncidents, listNotifications } from '../../src/store';
import type { SourceName } from '../../src/sources';
import { HubSpotFake, N8nFake, NotionFake, TelegramFake, type HttpFake } from '../../test/fakes';
import type { Fault } from '../../test/fakes/http-fake';
import { bootSystem, TEST_DATABASE_URL, type TestSystem } from '../../test/helpers/boot';
import { OPERATOR_CHAT, OPERATOR_PHONE, startCommsFakes, type CommsFakes } from '../../test/helpers/comms';
import { spawnCrashWorker, workerConfig, type CrashSettings, type CrashWorker } from '../../test/helpers/crash-worker';
import { createChaosDatabase, lockSqlite } from './outages';
import { spawnNpmStart } from './npm-start';
import type { ChaosServer } from './server';
import { track } from './children';
import { addTally, emptyTally, tallySend, tallySource, type Tally } from './tally';

export interface ChaosContext {
  server: ChaosServer;
  bundlePath: string;
  root: string;
}

export interface Row {
  scenario: string;
  /** Job runs it took (a failed run is followed by the next one, as the schedule would). */
  runs: number;
  /** Kills, restarts or outages inflicted. */
  blows: number;
  expected: number;
  lost: number;
  duplicated: number;
  /** From the last blow (its end, for an outage) until the work moved again (a page committed). */
  resumedMs: number | null;
  /** From the last blow (its end, for an outage) until every expected item was in. */
  recoverMs: number | null;
  note: string;
  error?: string;
  detail: string[];
}

export interface Scenario {
  name: string;
  namespace: string;
  run(ctx: ChaosContext): Promise<Row>;
}

/** What a scenario has to undo, and how to count what it has so far if it fails. */
class Scope {
  private readonly cleanups: (() => Promise<unknown>)[] = [];
  measure: (() => Promise<Tally>) | undefined;
  /** Aborted when the scenario runs out of time: its waits stop, then it is cleaned up. */
  readonly aborter = new AbortController();
  runs = 0;
  blows = 0;

  defer(cleanup: () => Promise<unknown>): void {
    this.cleanups.push(cleanup);
  }

  async close(): Promise<void> {
    for (const cleanup of this.cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

const JOB_ACTIVITY_TIMEOUT_MS = 20_000;

type Outcome = { tally: Tally; resumedMs?: number | null; recoverMs: number | null; note: string };

async function bounded(ctx: ChaosContext, name: string, budgetMs: number, body: (scope: Scope) => Promise<Outcome>): Promise<Row> {
  const scope = new Scope();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish in ${budgetMs / 1000} s`)), budgetMs);
  });
  const running = body(scope);
  try {
    const { tally, resumedMs, recoverMs, note } = await Promise.race([running, timeout]);
    return { scenario: name, runs: scope.runs, blows: scope.blows, ...counts(tally), resumedMs: resumedMs ?? recoverMs, recoverMs, note, detail: tally.detail };
  } catch (err) {
    // Stop what the scenario still waits for before its system is closed under it.
    scope.aborter.abort();
    await Promise.race([running.catch(() => undefined), sleep(15_000)]);
    const tally = scope.measure ? await scope.measure().catch(() => emptyTally()) : emptyTally();
    const error = (err as Error).message.split('\n')[0]!.slice(0, 200);
    return { scenario: name, runs: scope.runs, blows: scope.blows, ...counts(tally), resumedMs: null, recoverMs: null, note: '', error, detail: tally.detail };
  } finally {
    clearTimeout(timer);
    await scope.close();
  }
}

const counts = (t: Tally) => ({ expected: t.expected, lost: t.lost, duplicated: t.duplicated });

async function boot(ctx: ChaosContext, scope: Scope, namespace: string, config: Record<string, unknown>): Promise<TestSystem> {
  const dataDir = join(ctx.root, namespace);
  mkdirSync(dataDir, { recursive: true });
  const sys = await bootSystem(
    { address: ctx.server.address, namespace, workflowBundle: ctx.bundlePath },
    // The production retry policy (not the tests' fast one). A job activity lost with its worker
    // is retried after activityTimeoutMs (5 min by default): the chaos run counts from a shorter
    // one, so the whole run stays in minutes.
    { startWorker: false, config: { retry: {}, limits: { activityTimeoutMs: JOB_ACTIVITY_TIMEOUT_MS }, ...config, dataDir } },
  );
  scope.defer(() => sys.close());
  return sys;
}

async function worker(sys: TestSystem, scope: Scope, name: string, crash: CrashSettings = {}): Promise<CrashWorker> {
  const w = await spawnCrashWorker(workerConfig(sys.config, sys.store), name, crash);
  track(w.child);
  scope.defer(() => w.kill());
  return w;
}

async function fake<T extends HttpFake>(scope: Scope, f: T): Promise<T> {
  await f.start();
  scope.defer(() => f.close());
  return f;
}

/** The run's result; the client rides out a Temporal server that is down for a moment. */
async function resultOf(sys: TestSystem, scope: Scope, workflowId: string, patienceMs = 60_000): Promise<JobResult> {
  const deadline = Date.now() + patienceMs;
  const { signal } = scope.aborter;
  for (;;) {
    try {
      return await sys.client.connection.withAbortSignal(signal, () => sys.ops.jobResult(workflowId));
    } catch (err) {
      if (signal.aborted || Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

/** Runs `job` until a run succeeds (at most `maxRuns`), as its schedule would start the next one. */
async function runUntilDone(sys: TestSystem, scope: Scope, job: JobName, first?: string, maxRuns = 3): Promise<JobResult[]> {
  const results: JobResult[] = [];
  let workflowId = first;
  for (;;) {
    if (!workflowId) {
      workflowId = (await sys.ops.startJob(job)).workflowId;
      scope.runs += 1;
    }
    const result = await resultOf(sys, scope, workflowId);
    results.push(result);
    if (result.outcome === 'succeeded' || results.length >= maxRuns) return results;
    workflowId = undefined;
  }
}

/**
 * Resolves with the time from `since` until the source's sync committed a page beyond `pages`
 * (or ended); null if it did not within 5 minutes.
 */
async function resumedAfter(sys: TestSystem, scope: Scope, source: SourceName, pages: number, since: number): Promise<number | null> {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline && !scope.aborter.signal.aborted) {
    const row = await getSourceSync(sys.store.db, source).catch(() => undefined);
    if (row && (row.run_pages > pages || row.status !== 'running')) return Date.now() - since;
    await sleep(100);
  }
  return null;
}

const pagesOf = async (sys: TestSystem, source: SourceName): Promise<number> => (await getSourceSync(sys.store.db, source))?.run_pages ?? 0;

async function isRunning(sys: TestSystem, workflowId: string): Promise<boolean> {
  return (await sys.client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
}

async function waitFor(scope: Scope, check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (scope.aborter.signal.aborted) throw new Error(`${what}: abandoned`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

const progress = (message: string): void => void process.stderr.write(`${message}\n`);
const outcomes = (results: JobResult[]) => results.map((r) => r.outcome + (r.category ? ` (${r.category})` : '')).join(', ');
const delays = (n: number, ms: number): Fault[] => Array.from({ length: n }, () => ({ delayMs: ms }));

/**
 * The HubSpot-sync scenarios' set-up: a fake with `contacts` contacts (its first pages slowed by
 * `slow`, so the sync outlasts the blows), a system syncing from it (plus `config`), and the
 * tally of those contacts as the scenario's measure.
 */
async function hubspotSync(
  ctx: ChaosContext,
  scope: Scope,
  namespace: string,
  contacts: number,
  { slow = [], config = {} }: { slow?: Fault[]; config?: Record<string, unknown> } = {},
): Promise<{ hubspot: HubSpotFake; sys: TestSystem }> {
  const hubspot = await fake(scope, new HubSpotFake({ contacts: HubSpotFake.generateContacts(contacts), rateLimit: false }));
  if (slow.length > 0) hubspot.fail(...slow);
  const sys = await boot(ctx, scope, namespace, { sources: { pageTimeoutMs: 3_000, hubspot: { token: hubspot.token, baseUrl: hubspot.url } }, ...config });
  scope.measure = () => tallySource(sys.store, 'hubspot', contacts);
  return { hubspot, sys };
}

// --- crash points -------------------------------------------------------------------------

const SYNC_CONTACTS = 500;

function syncCrashPoint(point: CrashPoint, namespace: string): Scenario {
  return {
    name: `crash point ${point}`,
    namespace,
    run: (ctx) =>
      bounded(ctx, `crash point ${point}`, 120_000, async (scope) => {
        const { hubspot, sys } = await hubspotSync(ctx, scope, namespace, SYNC_CONTACTS);
        const armed = await worker(sys, scope, 'armed', { point, skip: 2 });
        const { workflowId } = await sys.ops.startJob('sync_hubspot');
        scope.runs = 1;
        const exit = await armed.exited;
        scope.blows = 1;
        const died = Date.now();
        const resumed = resumedAfter(sys, scope, 'hubspot', await pagesOf(sys, 'hubspot'), died);
        await worker(sys, scope, 'fresh');
        const results = await runUntilDone(sys, scope, 'sync_hubspot', workflowId);
        return {
          tally: await tallySource(sys.store, 'hubspot', SYNC_CONTACTS),
          resumedMs: await resumed,
          recoverMs: Date.now() - died,
          note: `worker ${exit.signal ?? exit.code} at page 3; ${outcomes(results)}; ${hubspot.requests.length} requests for 5 pages`,
        };
      }),
  };
}

/**
 * The incidents a page raises are alerted after its commit. n8n raises them on its last page:
 * the worker dies right after that commit, and the fresh worker finds the sync done.
 */
function syncAlertsCrashPoint(namespace: string): Scenario {
  const name = 'crash point sync.after_commit_before_complete, n8n alerts';
  return {
    name,
    namespace,
    run: (ctx) =>
      bounded(ctx, name, 120_000, async (scope) => {
        const n8n = await fake(scope, new N8nFake({ rateLimit: false }));
        const recent = new Date(Date.now() - 10 * 60_000).toISOString();
        const failing = ['wf-billing', 'wf-crm', 'wf-invoices', 'wf-leads', 'wf-backup'];
        for (const wf of failing) n8n.addFailures(wf, 4, recent);
        for (const wf of ['wf-ok-1', 'wf-ok-2']) n8n.addFailures(wf, 2, recent);
        // 24 executions, 5 a page: the fifth page is the last, and raises the incidents.
        const sys = await boot(ctx, scope, namespace, { sources: { pageTimeoutMs: 3_000, n8n: { baseUrl: n8n.url, apiKey: n8n.apiKey, pageSize: 5 } } });
        const measure = async (): Promise<Tally> => {
          const incidents = (await listIncidents(sys.store.db, { limit: 500 })).filter((i) => i.type === N8N_WORKFLOW_FAILURES);
          const alerted = new Set((await listNotifications(sys.store.db, { type: N8N_WORKFLOW_FAILURES, limit: 500 })).map((n) => n.idempotency_key));
          // Lost: an incident that should have alerted (its type's hourly window did not keep it quiet) and did not.
          const unalerted = incidents.filter((i) => i.alert_withheld === null && !alerted.has(`incident:${i.id}`));
          const subjects = new Set(incidents.map((i) => i.subject));
          return {
            expected: failing.length,
            lost: failing.filter((wf) => !subjects.has(wf)).length + unalerted.length,
            duplicated: incidents.length - subjects.size,
            detail: unalerted.length ? [`${unalerted.length} of ${incidents.length} ${N8N_WORKFLOW_FAILURES} incidents were never routed (no notification, so not in the digest)`] : [],
          };
        };
        scope.measure = measure;
        const armed = await worker(sys, scope, 'armed', { point: 'sync.after_commit_before_complete', skip: 4 });
        const { workflowId } = await sys.ops.startJob('sync_n8n');
        scope.runs = 1;
        const exit = await armed.exited;
        scope.blows = 1;
        const died = Date.now();
        await worker(sys, scope, 'fresh');
        const results = await runUntilDone(sys, scope, 'sync_n8n', workflowId);
        return { tally: await measure(), recoverMs: Date.now() - died, note: `worker ${exit.signal ?? exit.code} after the last page's commit; ${outcomes(results)}` };
      }),
  };
}

const SEND_CHANNEL = {
  'send.telegram.after_accept': 'telegram',
  'send.sms.after_accept': 'sms',
  'send.voice.after_accept': 'voice',
  'send.console.after_accept': 'console',
} as const;

function sendCrashPoint(point: keyof typeof SEND_CHANNEL, namespace: string): Scenario {
  const channel = SEND_CHANNEL[point];
  return {
    name: `crash point ${point}`,
    namespace,
    run: (ctx) =>
      bounded(ctx, `crash point ${point}`, 120_000, async (scope) => {
        const fakes = await startCommsFakes();
        scope.defer(() => fakes.close());
        const sys = await boot(ctx, scope, namespace, commsConfigFor(channel, fakes));
        const delivered = (): number =>
          ({ voice: fakes.twilio.calls.length, sms: fakes.salesmsg.sent.length, telegram: fakes.telegram.sent.length, console: 1 })[channel];
        scope.measure = () => tallySend(sys.store, 'morning_call', delivered());
        const who = { actor: 'chaos', reason: 'the operator' };
        await sys.ops.allowlistAdd({ kind: 'phone', address: OPERATOR_PHONE, ...who });
        await sys.ops.allowlistAdd({ kind: 'telegram', address: OPERATOR_CHAT, ...who });
        const armed = await worker(sys, scope, 'armed', { point });
        const { workflowId } = await sys.ops.startJob('morning_call');
        scope.runs = 1;
        const exit = await armed.exited;
        scope.blows = 1;
        const died = Date.now();
        await worker(sys, scope, 'fresh');
        const [result] = await runUntilDone(sys, scope, 'morning_call', workflowId, 1);
        const output = result!.output as { status?: string; via?: string } | undefined;
        return {
          tally: await tallySend(sys.store, 'morning_call', delivered()),
          recoverMs: Date.now() - died,
          note: `worker ${exit.signal ?? exit.code} after ${channel} accepted; run ${result!.outcome}, recorded ${output?.status ?? '?'} via ${output?.via ?? '?'}`,
        };
      }),
  };
}

/** Only the channel under test is configured (none at all for the console). */
function commsConfigFor(channel: 'voice' | 'sms' | 'telegram' | 'console', fakes: CommsFakes): Record<string, unknown> {
  const all = fakes.config();
  const comms = all.comms as { salesmsg: unknown; twilio: unknown; operatorPhone: string };
  const base = { sendTimeoutMs: 2_000, morningCall: { retryDelayMs: 500 } };
  if (channel === 'voice') return { comms: { ...base, operatorPhone: comms.operatorPhone, twilio: comms.twilio } };
  if (channel === 'sms') return { comms: { ...base, operatorPhone: comms.operatorPhone, salesmsg: comms.salesmsg } };
  if (channel === 'telegram') return { telegram: all.telegram, comms: base };
  return { comms: base };
}

// --- kills at random moments -----------------------------------------------------------------

const KILL_CONTACTS = 6_000;
const KILLS = 10;

function randomKills(namespace: string, target: 'worker' | 'npm start'): Scenario {
  const name = `${KILLS} SIGKILLs of ${target === 'worker' ? 'the worker' : 'npm start'} mid-sync`;
  const spawnOne = async (sys: TestSystem, scope: Scope, life: string): Promise<CrashWorker> => {
    if (target === 'worker') return worker(sys, scope, life);
    const started = await spawnNpmStart(sys.config, life);
    scope.defer(() => started.kill());
    return started;
  };
  return {
    name,
    namespace,
    run: (ctx) =>
      bounded(ctx, name, 300_000, async (scope) => {
        // Each page takes 200 ms at the API, so the sync outlasts the kills.
        const { sys } = await hubspotSync(ctx, scope, namespace, KILL_CONTACTS, { slow: delays(400, 200) });
        const { workflowId } = await sys.ops.startJob('sync_hubspot');
        scope.runs = 1;
        let lastKill = Date.now();
        const pages = async () => (await getSourceSync(sys.store.db, 'hubspot'))?.run_pages ?? 0;
        for (let life = 0; life < KILLS; life++) {
          const before = await pages();
          const w = await spawnOne(sys, scope, `life-${life}`);
          // Each worker first gets the sync going again (a page committed), then dies at a random moment.
          await waitFor(scope, async () => (await pages()) > before || !(await isRunning(sys, workflowId)), 60_000, `life ${life}: the sync to move`);
          await sleep(Math.random() * 1_500);
          if (!(await isRunning(sys, workflowId))) break;
          await w.kill();
          scope.blows += 1;
          lastKill = Date.now();
          progress(`  kill ${scope.blows}: ${await pages()}/60 pages in`);
        }
        const atLastKill = await pagesOf(sys, 'hubspot');
        const resumed = resumedAfter(sys, scope, 'hubspot', atLastKill, lastKill);
        await spawnOne(sys, scope, 'last');
        const results = await runUntilDone(sys, scope, 'sync_hubspot', workflowId);
        return {
          tally: await tallySource(sys.store, 'hubspot', KILL_CONTACTS),
          resumedMs: await resumed,
          recoverMs: Date.now() - lastKill,
          note: `${scope.blows} kills, a new ${target} each time; ${atLastKill}/60 pages in at the last kill; ${outcomes(results)}`,
        };
      }),
  };
}

// --- Temporal restarts -------------------------------------------------------------------

const RESTART_CONTACTS = 3_000;

function temporalRestarts(namespace: string): Scenario {
  const name = '3 Temporal dev-server restarts mid-sync';
  return {
    name,
    namespace,
    run: (ctx) =>
      bounded(ctx, name, 240_000, async (scope) => {
        const { sys } = await hubspotSync(ctx, scope, namespace, RESTART_CONTACTS, { slow: delays(200, 300) });
        let w = await worker(sys, scope, 'first');
        const { workflowId } = await sys.ops.startJob('sync_hubspot');
        scope.runs = 1;
        let lastRestart = Date.now();
        let workersLost = 0;
        for (let i = 0; i < 3; i++) {
          await sleep(2_500);
          if (!(await isRunning(sys, workflowId).catch(() => true))) break;
          await ctx.server.restart();
          scope.blows += 1;
          lastRestart = Date.now();
          // A worker that gave up on the server is replaced, as a supervisor would.
          if (w.child.exitCode !== null || w.child.signalCode !== null) {
            workersLost += 1;
            w = await worker(sys, scope, `after-restart-${i}`);
          }
        }
        const resumed = resumedAfter(sys, scope, 'hubspot', await pagesOf(sys, 'hubspot'), lastRestart);
        const results = await runUntilDone(sys, scope, 'sync_hubspot', workflowId);
        return {
          tally: await tallySource(sys.store, 'hubspot', RESTART_CONTACTS),
          resumedMs: await resumed,
          recoverMs: Date.now() - lastRestart,
          note: `same db file each time; workers that exited: ${workersLost}; ${outcomes(results)}`,
        };
      }),
  };
}

// --- store outages -----------------------------------------------------------------------

const OUTAGE_MS = 30_000;
const OUTAGE_CONTACTS = 3_000;

function storeOutage(dialect: 'sqlite' | 'postgres', namespace: string): Scenario {
  const name = `30 s store outage (${dialect})`;
  return {
    name,
    namespace,
    run: (ctx) =>
      bounded(ctx, name, 240_000, async (scope) => {
        const database = dialect === 'postgres' ? await createChaosDatabase(TEST_DATABASE_URL, `chaos_${process.pid}_${namespace.replace(/\W/g, '_')}`) : undefined;
        if (database) scope.defer(() => database.drop());
        const { sys } = await hubspotSync(ctx, scope, namespace, OUTAGE_CONTACTS, {
          slow: delays(200, 300),
          config: database ? { databaseUrl: database.url } : {},
        });
        await worker(sys, scope, 'worker');
        const { workflowId } = await sys.ops.startJob('sync_hubspot');
        scope.runs = 1;
        await waitFor(scope, async () => ((await getSourceSync(sys.store.db, 'hubspot'))?.run_pages ?? 0) >= 3, 60_000, 'the sync to commit 3 pages');
        scope.blows = 1;
        const atOutage = await pagesOf(sys, 'hubspot');
        if (database) {
          await database.outage(OUTAGE_MS);
        } else {
          const lock = await lockSqlite(sqlitePath(sys.config), OUTAGE_MS);
          await lock.released;
        }
        const back = Date.now();
        const resumed = resumedAfter(sys, scope, 'hubspot', atOutage, back);
        const results = await runUntilDone(sys, scope, 'sync_hubspot', workflowId, 4);
        return {
          tally: await tallySource(sys.store, 'hubspot', OUTAGE_CONTACTS),
          resumedMs: await resumed,
          recoverMs: Date.now() - back,
          note: `${dialect === 'postgres' ? 'database refused connections, sessions terminated' : 'exclusive lock held by another process'}; ${outcomes(results)}`,
        };
      }),
  };
}

// --- API faults --------------------------------------------------------------------------

const FAULT_RATE = 0.2;
const FAULTS: Fault[] = [{ status: 500 }, { status: 502 }, { status: 503 }, { status: 429, retryAfterSeconds: 1 }];

/** One in five requests answered with a server error or a 429, at random; the rest normal. */
function injectFaults(f: HttpFake, requests: number): number {
  let injected = 0;
  const plan: Fault[] = Array.from({ length: requests }, () => {
    if (Math.random() >= FAULT_RATE) return { delayMs: 0 };
    injected += 1;
    return FAULTS[Math.floor(Math.random() * FAULTS.length)]!;
  });
  f.fail(...plan);
  return injected;
}

function apiFaults(namespace: string): Scenario {
  const name = '20% API faults, all four sources';
  return {
    name,
    namespace,
    run: (ctx) =>
      bounded(ctx, name, 240_000, async (scope) => {
        const contacts = 2_000;
        const notionPages = 1_500;
        const canonical = notionPages / 3;
        const chatMessages = 250;
        const hubspot = await fake(scope, new HubSpotFake({ contacts: HubSpotFake.generateContacts(contacts), rateLimit: false }));
        const notion = await fake(scope, new NotionFake({ pages: NotionFake.generatePages(notionPages, { tagEvery: 3, tag: 'SOP' }) }));
        const n8n = await fake(scope, new N8nFake({ rateLimit: false }));
        const telegram = await fake(scope, new TelegramFake({ rateLimit: false }));
        const recent = new Date(Date.now() - 10 * 60_000).toISOString();
        const failing = ['wf-billing', 'wf-crm', 'wf-invoices', 'wf-leads', 'wf-backup'];
        for (const wf of failing) n8n.addFailures(wf, 4, recent);
        for (const wf of ['wf-ok-1', 'wf-ok-2']) n8n.addFailures(wf, 2, recent);
        for (let i = 0; i < chatMessages; i++) telegram.sendFromUser({ chatId: Number(OPERATOR_CHAT), text: `note ${i}` });
        const injected = [hubspot, notion, n8n, telegram].reduce((sum, f) => sum + injectFaults(f, 200), 0);
        scope.blows = injected;
        const sys = await boot(ctx, scope, namespace, {
          sources: {
            pageTimeoutMs: 5_000,
            hubspot: { token: hubspot.token, baseUrl: hubspot.url },
            notion: { token: notion.token, baseUrl: notion.url },
            n8n: { baseUrl: n8n.url, apiKey: n8n.apiKey, pageSize: 5 },
          },
          telegram: { botToken: telegram.token, apiBase: telegram.url, chatId: OPERATOR_CHAT },
        });
        const measure = async (): Promise<Tally> => {
          const incidents = (await listIncidents(sys.store.db, { limit: 500 })).filter((i) => i.type === N8N_WORKFLOW_FAILURES);
          const subjects = new Set(incidents.map((i) => i.subject ?? ''));
          const n8nTally: Tally = {
            expected: failing.length,
            lost: failing.filter((wf) => !subjects.has(wf)).length,
            duplicated: incidents.length - subjects.size + [...subjects].filter((k) => !failing.includes(k)).length,
            detail: [],
          };
          let tally = addTally(await tallySource(sys.store, 'hubspot', contacts), await tallySource(sys.store, 'notion', canonical));
          tally = addTally(tally, await tallySource(sys.store, 'chat', chatMessages));
          return addTally(tally, n8nTally);
        };
        scope.measure = measure;
        await worker(sys, scope, 'worker');
        const started = Date.now();
        const results = await runUntilDone(sys, scope, 'periodic_scan', undefined, 4);
        return {
          tally: await measure(),
          recoverMs: Date.now() - started,
          note: `${injected} faults injected (500/502/503/429); periodic_scan runs: ${outcomes(results)}`,
        };
      }),
  };
}

// --- the list ----------------------------------------------------------------------------

export function scenarios(): Scenario[] {
  const list: Scenario[] = [];
  let n = 0;
  const ns = () => `chaos-${String(++n).padStart(2, '0')}`;
  for (const point of CRASH_POINTS) {
    list.push(point.startsWith('sync.') ? syncCrashPoint(point, ns()) : sendCrashPoint(point as keyof typeof SEND_CHANNEL, ns()));
    if (point === 'sync.after_commit_before_complete') list.push(syncAlertsCrashPoint(ns()));
  }
  list.push(randomKills(ns(), 'worker'), randomKills(ns(), 'npm start'), temporalRestarts(ns()), storeOutage('sqlite', ns()), storeOutage('postgres', ns()), apiFaults(ns()));
  return list;
}
