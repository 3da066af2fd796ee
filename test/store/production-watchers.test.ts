/**
 * The production-monitoring watchers and staleness on both databases, just below and just above
 * each threshold, with the clock injected. Each test has its own `now` (years apart) and its own
 * job names, since the suite shares one store. Temporal's half of queue-depth and staleness (the
 * backlog, the schedules) is read for real in test/e2e/production-watchers.test.ts; here it is a
 * given answer.
 */
import type { Client } from '@temporalio/client';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { deadLetterGrowthWatcher } from '../../src/activities/watchers/dead-letter-growth';
import { failureRateWatcher } from '../../src/activities/watchers/failure-rate';
import { longRunsWatcher } from '../../src/activities/watchers/long-runs';
import { createQueueDepthWatcher, type QueueBacklog } from '../../src/activities/watchers/queue-depth';
import { createStalenessWatcher, type ScheduleState } from '../../src/activities/watchers/staleness';
import type { Watcher, WatcherCheck } from '../../src/activities/watchers/types';
import { configSchema } from '../../src/config';
import { createLogger } from '../../src/logger';
import { insertAudit, insertDeadLetter, openDeadLetterCount, type NewAuditRow, type Store } from '../../src/store';
import { forEachStore } from './fixtures';

const MIN = 60_000;
const HOUR = 60 * MIN;
const logger = createLogger('silent');
const dataDir = mkdtempSync(join(tmpdir(), 'ops-watchers-'));
const configWith = (overrides: Record<string, unknown> = {}) => configSchema.parse({ dataDir, ...overrides });
/** No test here reaches Temporal: queue-depth and staleness get their Temporal answers handed in. */
const noClient = {} as Client;

function check(watcher: Watcher, store: Store, now: Date, config = configWith()): Promise<WatcherCheck> {
  return watcher.check({ db: store.db, store, config, now, client: noClient, logger });
}

const ago = (now: Date, ms: number) => new Date(now.getTime() - ms).toISOString();

function run(job: string, ts: string, over: Partial<NewAuditRow> = {}): NewAuditRow {
  const outcome = over.outcome ?? 'succeeded';
  return {
    ts,
    action: job,
    action_type: 'system',
    success: outcome === 'succeeded' ? 1 : 0,
    outcome,
    error: null,
    duration_ms: 1000,
    input_data: '{}',
    output_data: null,
    workflow_id: `${job}-wf`,
    actor: 'schedule',
    reason: null,
    run_id: null,
    ...over,
  };
}

async function insertRuns(store: Store, rows: NewAuditRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await store.db.insertInto('agent_audit_log').values(rows.slice(i, i + 500)).execute();
}

const runs = (n: number, job: string, now: Date, over: Partial<NewAuditRow> = {}) =>
  Array.from({ length: n }, (_, i) => run(job, ago(now, (i + 1) * MIN), over));

const subjects = (result: WatcherCheck) => result.findings.map((f) => f.subject).sort();

forEachStore((store) => {
  it('long runs: a run over 30 s in the window is a WARN for its job; 30 s exactly is not', async () => {
    const now = new Date('2031-01-01T12:00:00.000Z');
    await insertRuns(store(), [
      run('lr_at_limit', ago(now, MIN), { duration_ms: 30_000 }),
      run('lr_over', ago(now, 2 * MIN), { duration_ms: 30_001 }),
      run('lr_over', ago(now, 3 * MIN), { duration_ms: 45_000, workflow_id: 'lr-longest' }),
      // Outside the 30-minute window: not this run's business any more.
      run('lr_old', ago(now, 31 * MIN), { duration_ms: 300_000 }),
    ]);
    const result = await check(longRunsWatcher, store(), now);
    expect(subjects(result)).toEqual(['lr_over']);
    expect(result.findings[0]).toMatchObject({ severity: 'WARN', job: 'lr_over', title: 'lr_over ran 45 s (limit 30 s)' });
    expect(result.findings[0]!.body).toContain('2 run(s)');
    expect(result.findings[0]!.body).toContain('lr-longest');
  });

  it('long runs: a per-job limit, and syncs get 2 s for each page they read', async () => {
    const now = new Date('2032-01-01T12:00:00.000Z');
    const sync = (pages: number) => JSON.stringify({ source: 'hubspot', outcome: 'succeeded', more: false, pages, items: pages * 100 });
    const scan = JSON.stringify({ sources: [{ source: 'notion', pages: 5 }, { source: 'hubspot', pages: 10 }, { source: 'chat', outcome: 'skipped' }] });
    await insertRuns(store(), [
      // Limits are keyed by real job names (this test's clock is its own, so no other runs are in its window).
      run('cleanup_old_data', ago(now, MIN), { duration_ms: 120_000 }),
      run('process_retry_queue', ago(now, MIN), { duration_ms: 120_001 }),
      // 30 s + 10 pages x 2 s = 50 s.
      run('lr_sync_ok', ago(now, MIN), { duration_ms: 50_000, output_data: sync(10) }),
      run('lr_sync_over', ago(now, MIN), { duration_ms: 50_001, output_data: sync(10) }),
      // A scan syncs its sources in parallel: its largest source (10 pages) sets the limit.
      run('lr_scan_ok', ago(now, MIN), { duration_ms: 50_000, output_data: scan }),
      run('lr_scan_over', ago(now, MIN), { duration_ms: 50_001, output_data: scan }),
    ]);
    const config = configWith({ watchers: { longRuns: { perJobSeconds: { cleanup_old_data: 120, process_retry_queue: 120 } } } });
    const result = await check(longRunsWatcher, store(), now, config);
    expect(subjects(result)).toEqual(['lr_scan_over', 'lr_sync_over', 'process_retry_queue']);
    expect(result.findings.find((f) => f.subject === 'lr_sync_over')!.title).toBe('lr_sync_over ran 50 s (limit 50 s for 10 page(s))');
  });

  it('failure rate: over 10% of at least 10 runs in 24 h; skipped runs count neither way', async () => {
    const now = new Date('2033-01-01T12:00:00.000Z');
    await insertRuns(store(), [
      // 10 of 100 = 10%: not over.
      ...runs(90, 'fr_at_limit', now),
      ...runs(10, 'fr_at_limit', now, { outcome: 'failed' }),
      // 11 of 100 = 11%.
      ...runs(89, 'fr_over', now),
      ...runs(11, 'fr_over', now, { outcome: 'failed' }),
      // 2 of 11 = 18%. Were the 100 skips counted as runs it would be 1.8%.
      ...runs(9, 'fr_skips', now),
      ...runs(2, 'fr_skips', now, { outcome: 'failed' }),
      ...runs(100, 'fr_skips', now, { outcome: 'skipped', reason: 'Quiet hours' }),
      // 9 runs, all failed: under the minimum sample (the 20 skips do not make it 29).
      ...runs(9, 'fr_few', now, { outcome: 'failed' }),
      ...runs(20, 'fr_few', now, { outcome: 'skipped' }),
      // Failures older than the 24 h window do not count.
      ...runs(20, 'fr_old', now),
      ...Array.from({ length: 20 }, () => run('fr_old', ago(now, 25 * HOUR), { outcome: 'failed' })),
    ]);
    const result = await check(failureRateWatcher, store(), now);
    expect(subjects(result)).toEqual(['fr_over', 'fr_skips']);
    const skips = result.findings.find((f) => f.subject === 'fr_skips')!;
    expect(skips).toMatchObject({ severity: 'WARN', job: 'fr_skips' });
    expect(skips.title).toContain('18.2%');
    expect(skips.body).toContain('2 of 11 run(s)');
    expect(skips.body).toContain('Skipped runs are not counted (100 skipped)');
    expect(result.summary).toContain('skipped runs not counted');
  });

  it('queue depth: a task queue backlog over 100 is a WARN; 100 is not', async () => {
    const backlogs: QueueBacklog[] = [
      { queue: 'jobs', workflowTasks: 60, activityTasks: 40 },
      { queue: 'jobs.hubspot', workflowTasks: 0, activityTasks: 101 },
    ];
    const result = await check(
      createQueueDepthWatcher(async () => backlogs),
      store(),
      new Date('2034-01-01T00:00:00.000Z'),
    );
    expect(subjects(result)).toEqual(['task_queue:jobs.hubspot']);
    expect(result.findings[0]!.title).toBe('Task queue jobs.hubspot has 101 tasks waiting (max 100)');
  });

  it('queue depth: more than 100 open dead letters is a WARN; resolved ones do not count', async () => {
    const watcher = createQueueDepthWatcher(async () => []);
    const now = new Date('2035-01-01T00:00:00.000Z');
    const letter = (status: 'open' | 'exhausted' | 'resolved') =>
      insertDeadLetter(store().db, {
        created_at: ago(now, HOUR),
        job: 'qd_job',
        workflow_id: 'qd-wf',
        input: '{}',
        error: 'boom',
        category: 'internal',
        attempts: 1,
        status,
        resolved_at: status === 'resolved' ? ago(now, MIN) : null,
      });
    const missing = 100 - (await openDeadLetterCount(store().db));
    for (let i = 0; i < missing; i++) await letter(i % 2 ? 'open' : 'exhausted');
    await letter('resolved');
    expect((await check(watcher, store(), now)).findings).toEqual([]);
    await letter('open');
    const result = await check(watcher, store(), now);
    expect(subjects(result)).toEqual(['dead_letters']);
    expect(result.findings[0]).toMatchObject({ severity: 'WARN', title: '101 dead letters are open (max 100)' });
  });

  it('dead-letter growth: more open letters than an hour ago is a WARN; as many is not', async () => {
    const now = new Date('2036-01-01T12:00:00.000Z');
    const letter = (createdAgo: number, resolvedAgo?: number) =>
      insertDeadLetter(store().db, {
        created_at: ago(now, createdAgo),
        job: 'dlg_job',
        workflow_id: 'dlg-wf',
        input: '{}',
        error: 'boom',
        category: 'transient',
        attempts: 3,
        ...(resolvedAgo === undefined ? {} : { status: 'resolved', resolved_at: ago(now, resolvedAgo) }),
      });
    // Open an hour ago and still open; one resolved inside the window; one new inside it.
    await letter(2 * HOUR);
    await letter(3 * HOUR, 10 * MIN);
    await letter(30 * MIN);
    // Created and resolved before the window: neither then nor now.
    await letter(5 * HOUR, 2 * HOUR);
    // Created and resolved inside the window: no change.
    await letter(40 * MIN, 20 * MIN);
    const even = await check(deadLetterGrowthWatcher, store(), now);
    expect(even.findings).toEqual([]);
    expect(even.summary).toContain('(2 new, 2 resolved)');

    await letter(5 * MIN);
    const grown = await check(deadLetterGrowthWatcher, store(), now);
    expect(subjects(grown)).toEqual(['dead_letters']);
    expect(grown.findings[0]!.title).toMatch(/^Dead letters grew by 1 in 1 h/);
    expect(grown.findings[0]!.body).toContain('(3 new, 2 resolved)');
    // Two hours on, nothing was created or resolved in the last hour: no growth, however many are open.
    expect((await check(deadLetterGrowthWatcher, store(), new Date(now.getTime() + 2 * HOUR))).findings).toEqual([]);
  });

  stalenessTests(store);
});

/** periodic_scan runs every 30 min: with factor 2 and 10 min of grace it may go 70 min without a success. */
function stalenessTests(store: () => Store): void {
  const LONG_AGO = new Date('2020-01-01T00:00:00.000Z');
  const schedulesOf = (states: Record<string, ScheduleState>) =>
    createStalenessWatcher(async (_client, ids) => new Map(ids.map((id) => [id, states[id] ?? { exists: false, paused: false }])));
  const scheduled = { exists: true, paused: false, createdAt: LONG_AGO };

  it('staleness: no success in 2 x cadence + grace is a WARN naming what the runs did', async () => {
    const now = new Date('2037-01-01T12:00:00.000Z');
    const watcher = schedulesOf({ periodic_scan: scheduled, daily_digest: scheduled });
    await insertRuns(store(), [
      run('periodic_scan', ago(now, 71 * MIN)),
      ...Array.from({ length: 6 }, (_, i) => run('periodic_scan', ago(now, (5 + 10 * i) * MIN), { outcome: 'skipped', reason: 'Quiet hours' })),
      run('periodic_scan', ago(now, 2 * MIN), { outcome: 'failed', error: 'notion: 401 Unauthorized' }),
      // A daily job: 2 x 24 h + 10 min.
      run('daily_digest', ago(now, 48 * HOUR + 9 * MIN)),
    ]);
    const result = await check(watcher, store(), now);
    expect(subjects(result)).toEqual(['periodic_scan']);
    expect(result.findings[0]).toMatchObject({
      severity: 'WARN',
      job: 'periodic_scan',
      title: 'periodic_scan has not succeeded in 70 min: skipped 6 times: Quiet hours; failed 1 time: notion: 401 Unauthorized',
    });

    // One success 69 minutes ago is enough.
    await insertRuns(store(), [run('periodic_scan', ago(now, 69 * MIN))]);
    expect((await check(watcher, store(), now)).findings).toEqual([]);
    // 2 more minutes and the daily digest's last success is 48 h 11 min old.
    const later = new Date(now.getTime() + 2 * MIN);
    expect(subjects(await check(schedulesOf({ daily_digest: scheduled }), store(), later))).toEqual(['daily_digest']);
  });

  it('staleness: a paused schedule, or one without a schedule, is not judged', async () => {
    const now = new Date('2038-01-01T12:00:00.000Z');
    const result = await check(schedulesOf({ sync_n8n: { ...scheduled, paused: true } }), store(), now);
    expect(result.findings).toEqual([]);
    expect(result.summary).toContain('paused: sync_n8n');
    expect(result.summary).toMatch(/unscheduled: [^;]*periodic_scan/);
    expect(subjects(await check(schedulesOf({ sync_n8n: scheduled }), store(), now))).toEqual(['sync_n8n']);
  });

  it('staleness: a job never run is judged from when its schedule was created, or last resumed', async () => {
    // health_monitor runs every 5 min: 2 x 5 + 10 = 20 min.
    const now = new Date('2039-01-01T12:00:00.000Z');
    const createdAgo = (ms: number) => ({ ...scheduled, createdAt: new Date(now.getTime() - ms) });
    expect((await check(schedulesOf({ health_monitor: createdAgo(19 * MIN) }), store(), now)).findings).toEqual([]);
    const stale = await check(schedulesOf({ health_monitor: createdAgo(21 * MIN) }), store(), now);
    expect(stale.findings[0]).toMatchObject({ subject: 'health_monitor', title: 'health_monitor has not succeeded in 20 min: never ran' });

    // Resumed by a person 10 minutes ago: its clock starts again.
    await insertAudit(store().db, {
      ts: ago(now, 10 * MIN),
      action: 'schedules.resume',
      action_type: 'operator',
      success: 1,
      outcome: null,
      error: null,
      duration_ms: 5,
      input_data: JSON.stringify({ job: 'health_monitor' }),
      output_data: null,
      workflow_id: null,
      actor: 'jonah',
      reason: 'back from holiday',
      run_id: null,
    });
    expect((await check(schedulesOf({ health_monitor: createdAgo(HOUR * 24) }), store(), now)).findings).toEqual([]);
  });

  it('staleness: a job whose last run is older than its window says when it last ran; the cadence follows config.jobs', async () => {
    const now = new Date('2040-01-01T12:00:00.000Z');
    await insertRuns(store(), [run('sync_notion', ago(now, 31 * MIN))]);
    const watcher = schedulesOf({ sync_notion: scheduled });
    // sync_notion runs hourly: 2 h 10 min.
    expect((await check(watcher, store(), now)).findings).toEqual([]);
    // Every 10 minutes instead: 30 min.
    const config = configWith({ jobs: { sync_notion: { every: '10m' } } });
    const result = await check(watcher, store(), now, config);
    expect(result.findings[0]).toMatchObject({
      subject: 'sync_notion',
      title: `sync_notion has not succeeded in 30 min: no run since ${ago(now, 31 * MIN)}`,
    });
  });
}
