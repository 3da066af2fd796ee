/**
 * Each watcher's store queries, and the daily digest's, on a history of 10,000 and of 1,000,000
 * rows of audit log and of API requests (per second), on SQLite and on PostgreSQL. The history
 * has the same density at both sizes (one audit row and one API second every STEP_MS), so every
 * window holds the same rows and only the length of the history differs: the goal is that the
 * time follows the window, at most 2x between the two sizes.
 *
 * Temporal's own reads (the task queue backlog of queue_depth, the schedules of staleness) are
 * given answers here: they are RPCs whose cost has nothing to do with the store's size.
 *
 * Prints, per database and watcher: the median time at the smaller size (the baseline), at the
 * larger one, the ratio, and what the check found at each size (findings; the digest's runs). BENCH_ROWS=10000,1000000 BENCH_DIALECTS=sqlite,postgres BENCH_REPEATS=25.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import pg from 'pg';
import { createMessageActivities } from '../src/activities/messages';
import { createNotifier } from '../src/activities/notify';
import { createQueueDepthWatcher } from '../src/activities/watchers/queue-depth';
import { createStalenessWatcher } from '../src/activities/watchers/staleness';
import { WATCHERS } from '../src/activities/watchers/table';
import type { Watcher, WatcherContext } from '../src/activities/watchers/types';
import { configSchema } from '../src/config';
import { JOB_NAMES } from '../src/jobs';
import { createLogger } from '../src/logger';
import { migrateToLatest, openStore, writeTransaction, type Dialect, type Store } from '../src/store';
import { TEST_DATABASE_URL } from '../test/helpers/postgres';
import { line, percentile } from './lib';

const SIZES = (process.env.BENCH_ROWS ?? '10000,1000000').split(',').map(Number);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',') as Dialect[];
const REPEATS = Number(process.env.BENCH_REPEATS ?? 25);
const DATABASE_URL = process.env.DATABASE_URL ?? TEST_DATABASE_URL;
/** 10,000 rows 90 s apart are 10.4 days: longer than the longest window (cost anomalies' 7-day baseline). */
const STEP_MS = 90_000;
const NOW = new Date('2026-11-27T12:00:00.000Z');
/** Rows per INSERT: 14 audit columns x 1,000 stays under both databases' bound-parameter limits. */
const BATCH = 1000;
/** Batches per transaction. */
const BATCHES_PER_TX = 50;
const SERVICES = ['notion', 'n8n', 'hubspot', 'telegram'];
/** How often each job appears in the history, roughly as its cadence has it. */
const JOB_MIX = ['process_retry_queue', 'process_retry_queue', 'process_retry_queue', 'process_retry_queue', 'run_watchers', 'health_monitor', 'periodic_scan', 'sync_notion', 'sync_n8n', 'sync_hubspot'];

const logger = createLogger('silent');
const config = configSchema.parse({ dataDir: mkdtempSync(join(tmpdir(), 'bench-watchers-')) });
/** No Temporal: see the header. */
const noClient = {} as Client;

/** The table's watchers, with Temporal's answers given (every job scheduled long ago, empty task queues). */
function benchWatchers(): Watcher[] {
  const longAgo = new Date(NOW.getTime() - 365 * 24 * 3_600_000);
  const replacements: Record<string, Watcher> = {
    staleness: createStalenessWatcher(async (_client, ids) => new Map(ids.map((id) => [id, { exists: true, paused: false, createdAt: longAgo }]))),
    queue_depth: createQueueDepthWatcher(async () => []),
  };
  return WATCHERS.map((w) => replacements[w.name] ?? w);
}

function auditRow(i: number) {
  const ts = new Date(NOW.getTime() - (i + 1) * STEP_MS).toISOString();
  const job = JOB_MIX[i % JOB_MIX.length]!;
  const outcome = i % 17 === 0 ? 'failed' : i % 11 === 0 ? 'skipped' : 'succeeded';
  const pages = job.startsWith('sync_') ? i % 20 : 0;
  return {
    ts,
    action: job,
    action_type: 'system',
    success: outcome === 'succeeded' ? 1 : 0,
    outcome,
    error: outcome === 'failed' ? 'upstream 503' : outcome === 'skipped' ? 'Quiet hours' : null,
    duration_ms: i % 97 === 0 ? 45_000 : 200 + ((i * 7919) % 5000),
    input_data: '{"trigger":"schedule"}',
    output_data: pages ? JSON.stringify({ source: job.slice(5), outcome, more: false, pages, items: pages * 100 }) : null,
    workflow_id: job,
    actor: 'schedule',
    reason: outcome === 'skipped' ? 'Quiet hours' : null,
    run_id: `run-${i}`,
  } as const;
}

function apiSecondRow(i: number) {
  return {
    at_second: Math.floor((NOW.getTime() - (i + 1) * STEP_MS) / 1000),
    service: SERVICES[i % SERVICES.length]!,
    endpoint: '',
    requests: 1 + (i % 5),
    throttled: 0,
    failed: i % 50 === 0 ? 1 : 0,
  };
}

/** One in 100 runs left a dead letter; all but the last two days' are resolved ten minutes later. */
function deadLetterRow(i: number) {
  const created = NOW.getTime() - (i + 1) * 100 * STEP_MS;
  const open = created > NOW.getTime() - 2 * 24 * 3_600_000 && i % 2 === 0;
  return {
    created_at: new Date(created).toISOString(),
    job: 'sync_hubspot',
    workflow_type: 'sync_hubspot',
    workflow_id: 'sync_hubspot',
    input: '{"trigger":"schedule"}',
    error: 'upstream 503',
    category: 'transient',
    attempts: 3,
    status: open ? ('open' as const) : ('resolved' as const),
    resolved_at: open ? null : new Date(created + 10 * 60_000).toISOString(),
  };
}

async function insertMany<T>(store: Store, rows: number, make: (i: number) => T, insert: (tx: Store['db'], batch: T[]) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < rows; start += BATCH * BATCHES_PER_TX) {
    await writeTransaction(store.db, async (tx) => {
      for (let b = start; b < Math.min(rows, start + BATCH * BATCHES_PER_TX); b += BATCH) {
        const batch = Array.from({ length: Math.min(BATCH, rows - b) }, (_, k) => make(b + k));
        await insert(tx, batch);
      }
    });
  }
}

/** The digest's hourly totals for the same API seconds. */
function hourlyCalls(rows: number): { hour: string; service: string; calls: number }[] {
  const hours = new Map<string, number>();
  for (let i = 0; i < rows; i++) {
    const r = apiSecondRow(i);
    const key = `${new Date(r.at_second * 1000).toISOString().slice(0, 13)}|${r.service}`;
    hours.set(key, (hours.get(key) ?? 0) + r.requests);
  }
  return [...hours].map(([key, calls]) => ({ hour: key.slice(0, 13), service: key.slice(14), calls }));
}

async function load(store: Store, rows: number): Promise<void> {
  await insertMany(store, rows, auditRow, (tx, batch) => tx.insertInto('agent_audit_log').values(batch).execute());
  await insertMany(store, rows, apiSecondRow, (tx, batch) => tx.insertInto('api_request_windows').values(batch).execute());
  const hourly = hourlyCalls(rows);
  await insertMany(store, hourly.length, (i) => hourly[i]!, (tx, batch) => tx.insertInto('api_calls').values(batch).execute());
  await insertMany(store, Math.floor(rows / 100), deadLetterRow, (tx, batch) => tx.insertInto('dead_letters').values(batch).execute());
  // PostgreSQL's autovacuum analyzes a table this size within a minute; SQLite is never analyzed by the app.
  if (store.dialect === 'postgres') await sql`analyze`.execute(store.db);
}

async function median(work: () => Promise<unknown>): Promise<number> {
  await work();
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return percentile(times, 50);
}

async function openBenchStore(dialect: Dialect): Promise<{ store: Store; dispose: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'bench-watchers-store-'));
    const store = await openStore({ sqlitePath: join(dir, 'ops.sqlite') });
    return {
      store,
      dispose: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `bench_watchers_${randomBytes(4).toString('hex')}`;
  const store = await openStore({ databaseUrl: DATABASE_URL, sqlitePath: '', pgSchema: schema });
  return {
    store,
    dispose: async () => {
      await store.close();
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
}

/** Under this a time is the timer's noise (the performance watcher reads memory, not the store): no ratio. */
const NOISE_MS = 0.05;

interface Measured {
  ms: number;
  /** What the check found in the history (the digest: its workflows_executed), so it is seen doing its work. */
  found: number;
}

/** Median ms per watcher (and the digest) at one size. */
async function measureAt(dialect: Dialect, rows: number): Promise<Map<string, Measured>> {
  const { store, dispose } = await openBenchStore(dialect);
  try {
    await migrateToLatest(store);
    const started = performance.now();
    await load(store, rows);
    line(`${dialect}: load ${rows} audit + ${rows} API rows`, `${((performance.now() - started) / 1000).toFixed(1)} s`);
    const ctx: WatcherContext = { db: store.db, store, config, now: NOW, client: noClient, logger };
    const times = new Map<string, Measured>();
    for (const watcher of benchWatchers()) {
      const found = (await watcher.check(ctx)).findings.length;
      times.set(watcher.name, { ms: await median(() => watcher.check(ctx)), found });
    }
    const deps = { config, store, client: noClient, logger, now: () => NOW };
    // The real notifier of an unconfigured system (console only): prepareDigest only asks it that.
    const messages = createMessageActivities(deps, createNotifier(deps));
    const digest = () => messages.prepareDigest({ day: NOW.toISOString().slice(0, 10) });
    times.set('digest', { ms: await median(digest), found: (await digest()).metrics.workflows_executed });
    return times;
  } finally {
    await dispose();
  }
}

async function main(): Promise<void> {
  if (SIZES.length !== 2 || SIZES.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('BENCH_ROWS: two positive sizes, e.g. 10000,1000000');
  line('jobs in the history', JOB_NAMES.filter((j) => JOB_MIX.includes(j)).join(', '));
  line('sizes (baseline -> large), one row every', `${SIZES.join(' -> ')} rows, ${STEP_MS / 1000} s; median of ${REPEATS}`);
  const [small, large] = SIZES as [number, number];
  let worst = 0;
  for (const dialect of DIALECTS) {
    const base = await measureAt(dialect, small);
    const big = await measureAt(dialect, large);
    for (const [name, a] of base) {
      const b = big.get(name)!;
      const noise = Math.max(a.ms, b.ms) < NOISE_MS;
      const ratio = b.ms / a.ms;
      if (!noise) worst = Math.max(worst, ratio);
      const figures = `${a.ms.toFixed(2)} ms -> ${b.ms.toFixed(2)} ms, ${noise ? `under ${NOISE_MS} ms, no ratio` : `ratio ${ratio.toFixed(2)}x`}`;
      line(`${dialect} ${name}`, `${figures} (found ${a.found} / ${b.found})`);
    }
  }
  line('worst ratio (goal: at most 2x)', `${worst.toFixed(2)}x`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
