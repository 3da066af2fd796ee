/**
 * Counters read from the store, right across every worker process and restart: job runs (the
 * audit log's run rows) and API requests (api_request_windows). Their all-time totals are read
 * once per process, then only what is new: rows old enough to be settled move into a running
 * total, and the recent part is read again on every scrape (a range of the primary key).
 *
 * Settled means older than SETTLE_MS: by then every transaction that wrote such a row has long
 * committed (on PostgreSQL ids are taken at insert, so a later commit can hold a smaller id), and
 * an API second's row gets no more updates. A row that broke that rule would be missed, never
 * counted twice, so every total only grows.
 */
import { sql, type Kysely } from 'kysely';
import { JOB_NAMES } from '../jobs';
import type { Database, RunOutcome } from '../store';

export const SETTLE_MS = 5 * 60_000;

const JOBS: ReadonlySet<string> = new Set(JOB_NAMES);

/** Upper bounds (seconds) of the run-duration histogram: a quick check to an hour-long sync. */
export const RUN_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600] as const;

export interface RunTotals {
  job: string;
  outcome: RunOutcome;
  runs: number;
  /** Runs with a duration, their summed seconds, and how many took at most each bucket's bound. */
  timed: number;
  seconds: number;
  buckets: number[];
}

const runKey = (job: string, outcome: string) => `${job}\u0000${outcome}`;

function addRuns(into: Map<string, RunTotals>, rows: readonly RunTotals[]): void {
  for (const row of rows) {
    const key = runKey(row.job, row.outcome);
    const had = into.get(key);
    if (!had) {
      into.set(key, { ...row, buckets: [...row.buckets] });
      continue;
    }
    had.runs += row.runs;
    had.timed += row.timed;
    had.seconds += row.seconds;
    row.buckets.forEach((n, i) => (had.buckets[i]! += n));
  }
}

/** Job runs by job and outcome, with their durations, from the audit log. */
export class RunTally {
  /** Audit rows up to this id are in `settled`. */
  private settledThrough = 0;
  private settled = new Map<string, RunTotals>();

  async read(db: Kysely<Database>, now: Date): Promise<RunTotals[]> {
    const cutoff = new Date(now.getTime() - SETTLE_MS).toISOString();
    const newestSettled = await db
      .selectFrom('agent_audit_log')
      .select('id')
      .where('ts', '<', cutoff)
      .orderBy('ts', 'desc')
      .limit(1)
      .executeTakeFirst();
    const through = Math.max(this.settledThrough, Number(newestSettled?.id ?? 0));
    if (through > this.settledThrough) {
      const moved = await runTotalsBetween(db, this.settledThrough, through);
      // Replaced only once the read is complete: a read cut short leaves the tally as it was.
      const next = new Map([...this.settled].map(([k, v]) => [k, { ...v, buckets: [...v.buckets] }]));
      addRuns(next, moved);
      this.settled = next;
      this.settledThrough = through;
    }
    const recent = await runTotalsBetween(db, this.settledThrough, undefined);
    const all = new Map([...this.settled].map(([k, v]) => [k, { ...v, buckets: [...v.buckets] }]));
    addRuns(all, recent);
    return [...all.values()];
  }
}

/** One aggregate over the run rows with afterId < id <= throughId: a range of the primary key. */
async function runTotalsBetween(db: Kysely<Database>, afterId: number, throughId: number | undefined): Promise<RunTotals[]> {
  let query = db
    .selectFrom('agent_audit_log')
    .select((eb) => [
      'action',
      'outcome',
      eb.fn.countAll<number>().as('runs'),
      eb.fn.count<number>('duration_ms').as('timed'),
      eb.fn.coalesce(eb.fn.sum<number>('duration_ms'), eb.lit(0)).as('ms'),
      ...RUN_DURATION_BUCKETS.map((le, i) =>
        sql<number>`sum(case when duration_ms <= ${le * 1000} then 1 else 0 end)`.as(`b${i}`),
      ),
    ])
    .where('id', '>', afterId)
    .where('action_type', '=', 'system')
    .where('outcome', 'is not', null)
    // Job names are kept below, not here: an `action in (...)` would let SQLite pick the
    // (action, ts) index and read every run of those jobs instead of the id range.
    .groupBy(['action', 'outcome']);
  if (throughId !== undefined) query = query.where('id', '<=', throughId);
  const rows = (await query.execute()) as unknown as Record<string, unknown>[];
  return rows.filter((r) => JOBS.has(String(r.action))).map((r) => ({
    job: String(r.action),
    outcome: r.outcome as RunOutcome,
    runs: Number(r.runs),
    timed: Number(r.timed),
    seconds: Number(r.ms) / 1000,
    buckets: RUN_DURATION_BUCKETS.map((_, i) => Number(r[`b${i}`] ?? 0)),
  }));
}

export interface ApiTotals {
  service: string;
  requests: number;
  throttled: number;
  failed: number;
}

/** Requests, 429s and failures per service, from api_request_windows. */
export class ApiTally {
  /** Seconds before this one are in `settled`. */
  private settledBefore = 0;
  private settled = new Map<string, ApiTotals>();

  async read(db: Kysely<Database>, now: Date): Promise<ApiTotals[]> {
    const cutoff = Math.floor((now.getTime() - SETTLE_MS) / 1000);
    if (cutoff > this.settledBefore) {
      const moved = await apiTotalsBetween(db, this.settledBefore, cutoff);
      const next = new Map([...this.settled].map(([k, v]) => [k, { ...v }]));
      addApi(next, moved);
      this.settled = next;
      this.settledBefore = cutoff;
    }
    const recent = await apiTotalsBetween(db, this.settledBefore, undefined);
    const all = new Map([...this.settled].map(([k, v]) => [k, { ...v }]));
    addApi(all, recent);
    return [...all.values()];
  }
}

function addApi(into: Map<string, ApiTotals>, rows: readonly ApiTotals[]): void {
  for (const row of rows) {
    const had = into.get(row.service);
    if (!had) into.set(row.service, { ...row });
    else {
      had.requests += row.requests;
      had.throttled += row.throttled;
      had.failed += row.failed;
    }
  }
}

async function apiTotalsBetween(db: Kysely<Database>, fromSecond: number, beforeSecond: number | undefined): Promise<ApiTotals[]> {
  // Grouped on an expression, not the column: grouped on `service`, SQLite reads the whole
  // (service, at_second) index to skip a sort, instead of the primary key's range of seconds.
  const service = sql<string>`service || ''`;
  let query = db
    .selectFrom('api_request_windows')
    .select((eb) => [
      service.as('service'),
      eb.fn.sum<number>('requests').as('requests'),
      eb.fn.sum<number>('throttled').as('throttled'),
      eb.fn.sum<number>('failed').as('failed'),
    ])
    .where('at_second', '>=', fromSecond)
    .groupBy(service);
  if (beforeSecond !== undefined) query = query.where('at_second', '<', beforeSecond);
  const rows = await query.execute();
  return rows.map((r) => ({ service: r.service, requests: Number(r.requests), throttled: Number(r.throttled), failed: Number(r.failed) }));
}
