/**
 * GET /metrics on a whole system (real worker, real job runs, real rows), on SQLite and
 * PostgreSQL: each figure moves by what was done between two scrapes.
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { acknowledgeIncident, openNotification, raiseIncident, recordDecision } from '../../src/store';
import { countApiCall } from '../../src/store/api-calls';
import { startTestJob, systemPerSuite } from '../helpers/system';
import { DIALECTS } from '../store/fixtures';
import { metricsApp, scrape } from './scrape';

describe.each(DIALECTS)('GET /metrics on %s', (dialect) => {
  const system = systemPerSuite({ dialect }, async (sys) => {
    sys.acts.faults.set('bad', { times: Number.MAX_SAFE_INTEGER, error: () => new ValidationError('bad payload') });
    await sys.ops.ensureControls();
  });
  let app: FastifyInstance;
  let n = 0;
  beforeAll(async () => {
    const sys = system();
    app = await metricsApp({ config: sys.config, ops: sys.ops, logger: createLogger('silent'), worker: { state: () => 'RUNNING' } });
  });
  afterAll(async () => {
    await app?.close();
  });
  const run = async (workflowType: 'noopJob' | 'faultyJob', fault?: string) => {
    const id = await startTestJob(system(), workflowType, `metrics-${dialect}-${++n}`, fault ? { params: { fault } } : {});
    return system().ops.jobResult(id);
  };

  it('counts job runs by job and outcome, and their durations, from the audit log', async () => {
    const before = await scrape(app);
    expect(before.value('ops_store_up')).toBe(1);
    expect((await run('noopJob')).outcome).toBe('succeeded');
    expect((await run('noopJob')).outcome).toBe('succeeded');
    expect((await run('faultyJob', 'bad')).outcome).toBe('failed');
    const after = await scrape(app);

    const delta = (name: string, labels: Record<string, string>) => (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
    expect(delta('ops_job_runs_total', { job_name: 'periodic_scan', outcome: 'succeeded' })).toBe(2);
    expect(delta('ops_job_runs_total', { job_name: 'sync_hubspot', outcome: 'failed' })).toBe(1);
    expect(delta('ops_job_runs_total', { job_name: 'sync_hubspot', outcome: 'succeeded' })).toBe(0);
    expect(delta('ops_job_run_duration_seconds_count', { job_name: 'periodic_scan' })).toBe(2);
    expect(delta('ops_job_run_duration_seconds_bucket', { job_name: 'periodic_scan', le: '+Inf' })).toBe(2);

    // The histogram's sum is the audit rows' durations, bucket by bucket cumulative.
    const { db } = system().store;
    const rows = await db.selectFrom('agent_audit_log').select(['duration_ms']).where('action', '=', 'periodic_scan').where('outcome', 'is not', null).execute();
    expect(after.value('ops_job_run_duration_seconds_sum', { job_name: 'periodic_scan' })).toBeCloseTo(rows.reduce((s, r) => s + Number(r.duration_ms), 0) / 1000, 6);
    for (const le of ['0.1', '1', '60']) {
      const expected = rows.filter((r) => Number(r.duration_ms) <= Number(le) * 1000).length;
      expect(after.value('ops_job_run_duration_seconds_bucket', { job_name: 'periodic_scan', le })).toBe(expected);
    }
    // The failed run left a dead letter that is not resolved.
    const letters = (s: typeof after) => ['open', 'replaying', 'exhausted'].reduce((t, status) => t + (s.value('ops_dead_letters', { status }) ?? 0), 0);
    expect(letters(after) - letters(before)).toBe(1);
  });

  it('open incidents by severity and acknowledgement, held notifications', async () => {
    const { db } = system().store;
    const before = await scrape(app);
    const now = new Date();
    const a = await raiseIncident(db, { type: `metrics_${n}`, severity: 'SEV1', title: 'a', body: 'a', now });
    await raiseIncident(db, { type: `metrics_${n}`, severity: 'SEV1', title: 'b', body: 'b', now });
    await raiseIncident(db, { type: `metrics_${n}`, severity: 'INFO', title: 'c', body: 'c', now });
    await acknowledgeIncident(db, a.id, { actor: 'test', reason: 'seen', now });
    const note = await openNotification(db, { idempotencyKey: `metrics-held-${dialect}`, severity: 'INFO', type: 't', title: 't', body: 'b', route: 'digest', now });
    await recordDecision(db, note.id, { status: 'held', reason: 'digest', now });
    const after = await scrape(app);
    const delta = (name: string, labels: Record<string, string> = {}) => (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
    expect(delta('ops_incidents_open', { severity: 'SEV1', acknowledged: 'false' })).toBe(1);
    expect(delta('ops_incidents_open', { severity: 'SEV1', acknowledged: 'true' })).toBe(1);
    expect(delta('ops_incidents_open', { severity: 'INFO', acknowledged: 'false' })).toBe(1);
    expect(delta('ops_incidents_open', { severity: 'SEV0', acknowledged: 'false' })).toBe(0);
    expect(delta('ops_notifications_held')).toBe(1);
  });

  it('API requests, 429s and failures per service, and each source’s rate-limit window', async () => {
    const { db } = system().store;
    const before = await scrape(app);
    const now = new Date();
    await countApiCall(db, 'hubspot', now);
    await countApiCall(db, 'hubspot', now, { failed: true });
    await countApiCall(db, 'hubspot', now, { throttled: true });
    await countApiCall(db, 'notion', now);
    await countApiCall(db, 'notion', now);
    const after = await scrape(app);
    const delta = (name: string, labels: Record<string, string>) => (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
    expect(delta('ops_api_requests_total', { service: 'hubspot' })).toBe(3);
    expect(delta('ops_api_throttled_total', { service: 'hubspot' })).toBe(1);
    expect(delta('ops_api_failed_total', { service: 'hubspot' })).toBe(2);
    expect(delta('ops_api_requests_total', { service: 'notion' })).toBe(2);

    // HubSpot's limit is 100 per 10 s (a window of 10 s); Notion's 3/s on average (a minute's bucket: 180).
    const { sources } = system().config;
    expect(after.value('ops_rate_limit_window_requests', { source: 'hubspot' })).toBe(3);
    expect(after.value('ops_rate_limit_window_allowed', { source: 'hubspot' })).toBe(sources.hubspot.rateLimit.requests);
    expect(after.value('ops_rate_limit_usage_ratio', { source: 'hubspot' })).toBeCloseTo(3 / sources.hubspot.rateLimit.requests, 9);
    expect(after.value('ops_rate_limit_window_requests', { source: 'notion' })).toBe(2);
    expect(after.value('ops_rate_limit_window_allowed', { source: 'notion' })).toBe(sources.notion.rateLimit.requests * 60);
    expect(after.value('ops_rate_limit_usage_ratio', { source: 'chat' })).toBe(0);
  });

  it('the kill switch and each control as 0/1, as ops-controls mirrors them', async () => {
    const sys = system();
    const first = await scrape(app);
    expect(first.value('ops_kill_switch')).toBe(0);
    for (const control of ['jobsEnabled', 'commsEnabled', 'writeEnabled']) {
      expect(first.value('ops_control_enabled', { control })).toBe(sys.config.controls[control as 'jobsEnabled'] ? 1 : 0);
    }
    const view = await sys.ops.setKillSwitch(true, { actor: 'test', reason: 'metrics test' });
    try {
      await expect.poll(async () => (await scrape(app)).value('ops_kill_switch'), { timeout: 10_000 }).toBe(1);
      await expect.poll(async () => (await scrape(app)).value('ops_controls_version'), { timeout: 10_000 }).toBe(view.version);
    } finally {
      await sys.ops.setKillSwitch(false, { actor: 'test', reason: 'metrics test done' });
    }
    await expect.poll(async () => (await scrape(app)).value('ops_kill_switch'), { timeout: 10_000 }).toBe(0);
  });

  it('every scrape parses, with the worker, Node.js and SDK-status figures beside the store ones', async () => {
    const s = await scrape(app);
    expect(s.value('ops_worker_up', { state: 'RUNNING' })).toBe(1);
    expect(s.has('process_cpu_user_seconds_total')).toBe(true);
    expect(s.has('nodejs_eventloop_lag_seconds')).toBe(true);
    // The test process's Runtime is installed by the harness without the exporter (test/helpers/setup-runtime.ts).
    expect(s.value('ops_sdk_metrics_up')).toBe(0);
    expect(s.text).toContain('# Temporal SDK metrics not included: the SDK metrics exporter is not on in this process');
    expect(s.value('ops_store_read_seconds')).toBeGreaterThan(0);
  });

  it('concurrent scrapes share one read of the store', async () => {
    const { db } = system().store;
    const [x, y] = await Promise.all([app.inject({ url: '/metrics' }), app.inject({ url: '/metrics' })]);
    expect(x.body).toBe(y.body);
    // Still one consistent figure with the store's own count.
    const held = await db.selectFrom('notifications').select(sql<number>`count(*)`.as('n')).where('status', '=', 'held').where('archived', '=', 0).executeTakeFirstOrThrow();
    expect(x.body).toContain(`ops_notifications_held ${Number(held.n)}\n`);
  });
});
