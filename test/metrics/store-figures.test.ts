/**
 * The store's figures without Temporal, on SQLite and PostgreSQL: totals that stay right as rows
 * settle between scrapes (never counted twice, never going down), and a store that is down or
 * stuck costing only its own figures.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { configSchema } from '../../src/config';
import { createLogger } from '../../src/logger';
import { OpsMetrics } from '../../src/metrics/ops-metrics';
import { SETTLE_MS } from '../../src/metrics/store-tallies';
import { insertAudit, openStore, type Store } from '../../src/store';
import { countApiCall } from '../../src/store/api-calls';
import { forEachStore, openTestStore, TEST_DATABASE_URL } from '../store/fixtures';
import { readScrape } from './scrape';

const config = configSchema.parse({});
const logger = createLogger('silent');

function metricsOf(store: Store, clock: { now: Date }, extra: Partial<ConstructorParameters<typeof OpsMetrics>[0]> = {}): OpsMetrics {
  return new OpsMetrics({ store, config, logger, sdkEndpoint: () => undefined, now: () => clock.now, ...extra });
}

const minutes = (at: Date, m: number) => new Date(at.getTime() + m * 60_000);

async function auditRun(store: Store, job: string, outcome: 'succeeded' | 'failed' | 'skipped', ts: Date, durationMs: number | null): Promise<void> {
  await insertAudit(store.db, {
    ts: ts.toISOString(),
    action: job,
    action_type: 'system',
    success: outcome === 'succeeded' ? 1 : 0,
    outcome,
    error: null,
    duration_ms: durationMs,
    input_data: null,
    output_data: null,
    workflow_id: `wf-${job}-${ts.getTime()}`,
    actor: 'test',
    reason: null,
  });
}

forEachStore((store, dialect) => {
  it('run totals and durations: settled rows move into the running total, recent ones are read again, none twice', async () => {
    const t0 = new Date('2026-11-27T10:00:00.000Z');
    const clock = { now: t0 };
    const metrics = metricsOf(store(), clock);
    await auditRun(store(), 'sync_notion', 'succeeded', minutes(t0, -30), 400);
    await auditRun(store(), 'sync_notion', 'failed', minutes(t0, -1), 2_000);
    // Not a run: an operator's decision (no outcome), and a job name we do not know.
    await insertAudit(store().db, { ts: t0.toISOString(), action: 'incident.acknowledge', action_type: 'operator', success: 1, outcome: null, error: null, duration_ms: null, input_data: null, output_data: null, workflow_id: null, actor: 'op', reason: 'seen' });
    await auditRun(store(), 'not_a_job', 'succeeded', minutes(t0, -1), 1);

    const first = readScrape(await metrics.scrape());
    expect(first.value('ops_store_up')).toBe(1);
    expect(first.value('ops_job_runs_total', { job_name: 'sync_notion', outcome: 'succeeded' })).toBe(1);
    expect(first.value('ops_job_runs_total', { job_name: 'sync_notion', outcome: 'failed' })).toBe(1);
    expect(first.sum('ops_job_runs_total', { job_name: 'not_a_job' })).toBe(0);
    expect(first.value('ops_job_run_duration_seconds_count', { job_name: 'sync_notion' })).toBe(2);
    expect(first.value('ops_job_run_duration_seconds_sum', { job_name: 'sync_notion' })).toBeCloseTo(2.4, 9);
    expect(first.value('ops_job_run_duration_seconds_bucket', { job_name: 'sync_notion', le: '0.5' })).toBe(1);
    expect(first.value('ops_job_run_duration_seconds_bucket', { job_name: 'sync_notion', le: '2.5' })).toBe(2);

    // A row written late with an old time (a larger id than the settled ones) is still counted, once.
    await auditRun(store(), 'sync_notion', 'succeeded', minutes(t0, -20), null);
    const second = readScrape(await metrics.scrape());
    expect(second.value('ops_job_runs_total', { job_name: 'sync_notion', outcome: 'succeeded' })).toBe(2);
    expect(second.value('ops_job_run_duration_seconds_count', { job_name: 'sync_notion' })).toBe(2);

    // Everything settles; the totals stay; a new run adds one.
    clock.now = minutes(t0, 2 * SETTLE_MS / 60_000);
    const third = readScrape(await metrics.scrape());
    expect(third.value('ops_job_runs_total', { job_name: 'sync_notion', outcome: 'succeeded' })).toBe(2);
    expect(third.value('ops_job_runs_total', { job_name: 'sync_notion', outcome: 'failed' })).toBe(1);
    await auditRun(store(), 'sync_notion', 'failed', clock.now, 100);
    const fourth = readScrape(await metrics.scrape());
    expect(fourth.value('ops_job_runs_total', { job_name: 'sync_notion', outcome: 'failed' })).toBe(2);
    expect(fourth.value('ops_job_run_duration_seconds_sum', { job_name: 'sync_notion' })).toBeCloseTo(2.5, 9);

    // Another process (a fresh collector) reads the same totals from the store.
    const other = readScrape(await metricsOf(store(), clock).scrape());
    for (const outcome of ['succeeded', 'failed']) {
      expect(other.value('ops_job_runs_total', { job_name: 'sync_notion', outcome })).toBe(fourth.value('ops_job_runs_total', { job_name: 'sync_notion', outcome }));
    }
  });

  it('API totals per service across the settling boundary', async () => {
    const t0 = new Date('2026-11-27T12:00:00.000Z');
    const clock = { now: t0 };
    const metrics = metricsOf(store(), clock);
    await countApiCall(store().db, 'n8n', minutes(t0, -30));
    await countApiCall(store().db, 'n8n', minutes(t0, -1), { throttled: true });
    const first = readScrape(await metrics.scrape());
    expect(first.value('ops_api_requests_total', { service: 'n8n' })).toBe(2);
    expect(first.value('ops_api_throttled_total', { service: 'n8n' })).toBe(1);
    clock.now = minutes(t0, 10);
    await countApiCall(store().db, 'n8n', clock.now, { failed: true });
    const second = readScrape(await metrics.scrape());
    expect(second.value('ops_api_requests_total', { service: 'n8n' })).toBe(3);
    expect(second.value('ops_api_throttled_total', { service: 'n8n' })).toBe(1);
    expect(second.value('ops_api_failed_total', { service: 'n8n' })).toBe(2);
    // The window of the rate limit is the one ending at the scrape: n8n's minute holds one request of 5/s × 60.
    expect(second.value('ops_rate_limit_window_requests', { source: 'n8n' })).toBe(1);
    expect(second.value('ops_rate_limit_usage_ratio', { source: 'n8n' })).toBeCloseTo(1 / 300, 9);
  });

  it('a store that fails costs its figures only: 200, ops_store_up 0, the rest served', async () => {
    const handle = await openTestStore(dialect);
    await handle.store.close();
    const text = await metricsOf(handle.store, { now: new Date() }).scrape();
    const s = readScrape(text);
    expect(s.value('ops_store_up')).toBe(0);
    expect(s.text).toContain("# Store figures left out (their read failed): runs, api_requests, dead_letters, incidents, held_notifications, controls, rate_limits\n");
    expect(s.sum('ops_job_runs_total')).toBe(0);
    expect(s.families.find((f) => f.name === 'ops_incidents_open')?.samples).toEqual([]);
    // Unknown, so absent: never a kill switch "off" that was not read.
    expect(s.value('ops_kill_switch')).toBeUndefined();
    expect(s.value('ops_notifications_held')).toBeUndefined();
    expect(s.value('ops_sdk_metrics_up')).toBe(0);
    expect(s.has('process_resident_memory_bytes')).toBe(true);
  });

  if (dialect === 'postgres') {
    it('a store that does not answer: the scrape ends at its budget without the store figures, and they are back once it answers', async () => {
      const locker = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${(store() as Store & { schema?: string }).schema}` });
      await locker.connect();
      const metrics = metricsOf(store(), { now: new Date() }, { storeBudgetMs: 300 });
      try {
        await locker.query('begin');
        await locker.query('lock table incidents in access exclusive mode');
        const started = performance.now();
        const s = readScrape(await metrics.scrape());
        expect(performance.now() - started).toBeLessThan(1_500);
        expect(s.value('ops_store_up')).toBe(0);
        expect(s.text).toContain('# Store figures left out: the store did not answer within 300 ms');
        await locker.query('rollback');
        await expect.poll(async () => readScrape(await metrics.scrape()).value('ops_store_up'), { timeout: 5_000 }).toBe(1);
      } finally {
        await locker.end();
      }
    });

    it('a PostgreSQL server that refuses connections', async () => {
      const down = await openStore({ databaseUrl: 'postgres://ops@127.0.0.1:1/ops', sqlitePath: '' });
      try {
        const s = readScrape(await metricsOf(down, { now: new Date() }).scrape());
        expect(s.value('ops_store_up')).toBe(0);
        expect(s.has('nodejs_heap_size_used_bytes')).toBe(true);
      } finally {
        await down.close();
      }
    });
  }
});

describe('the exposition text', () => {
  it('every family once, HELP and TYPE before its samples (the SDK text appended after ours)', async () => {
    const handle = await openTestStore('sqlite');
    try {
      const { migrateToLatest } = await import('../../src/store');
      await migrateToLatest(handle.store);
      const text = await metricsOf(handle.store, { now: new Date() }).scrape();
      const s = readScrape(text);
      for (const family of s.families.filter((f) => f.name.startsWith('ops_'))) {
        expect(family.type, family.name).toBeDefined();
        expect(family.help, family.name).toBeDefined();
      }
    } finally {
      await handle.dispose();
    }
  });
});
