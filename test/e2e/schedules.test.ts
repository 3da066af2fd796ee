import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { configSchema } from '../../src/config';
import { OWNER, OWNER_MEMO_KEY } from '../../src/definitions';
import { JOB_NAMES } from '../../src/jobs';
import { createLogger } from '../../src/logger';
import { reconcileSchedules } from '../../src/schedules/reconcile';
import { localMinutes } from '../../src/quiet-hours';
import { ScheduleTableError } from '../../src/schedules/table';
import { startSystem, type TestSystem } from '../helpers/system';

const logger = createLogger('silent');

describe('schedule reconciliation', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    // No worker: these tests look at schedules, not at the runs they start.
    sys = await startSystem({ startWorker: false });
  });
  afterAll(async () => {
    await sys.close();
  });

  it('creates one schedule per job, and a second reconcile changes nothing', async () => {
    const first = await reconcileSchedules(sys.client, sys.config, logger);
    expect(first.created.sort()).toEqual([...JOB_NAMES].sort());
    const second = await reconcileSchedules(sys.client, sys.config, logger);
    expect(second).toEqual({ created: [], updated: [], removed: [], unchanged: [...JOB_NAMES], overridesKept: [], overridesDropped: [] });
  });

  it('a bad row anywhere in the table changes no schedule at all', async () => {
    await reconcileSchedules(sys.client, sys.config, logger);
    const before = await sys.client.schedule.getHandle('periodic_scan').describe();
    // As if the schema had been bypassed: the first row changes validly, a later one is impossible.
    const bad = { ...sys.config, jobs: { periodic_scan: { every: '45m' }, sync_n8n: { every: '0s' } } } as typeof sys.config;
    await expect(reconcileSchedules(sys.client, bad, logger)).rejects.toThrow(ScheduleTableError);
    await expect(reconcileSchedules(sys.client, bad, logger)).rejects.toThrow(/nothing changed:\n {2}- jobs\.sync_n8n\.every: every 0s is too often/);
    const after = await sys.client.schedule.getHandle('periodic_scan').describe();
    expect(after.spec.intervals?.[0]?.every).toBe(before.spec.intervals?.[0]?.every);
    expect(after.spec.intervals?.[0]?.every).toBe(30 * 60_000);
    expect((await reconcileSchedules(sys.client, sys.config, logger)).updated).toEqual([]);
  });

  it('daily_digest runs next at 08:00 America/Chicago, skipping overlaps', async () => {
    const d = await sys.client.schedule.getHandle('daily_digest').describe();
    expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(d.info.nextActionTimes.length).toBeGreaterThan(0);
    for (const t of d.info.nextActionTimes) expect(localMinutes(t, 'America/Chicago')).toBe(8 * 60);
    const scan = await sys.client.schedule.getHandle('process_retry_queue').describe();
    const [a, b] = scan.info.nextActionTimes;
    expect(b!.getTime() - a!.getTime()).toBe(30_000);
  });

  it('keeps a schedule paused with `temporal schedule toggle --pause` across a changed table', async () => {
    execFileSync(
      inject('temporalCliPath'),
      [
        'schedule',
        'toggle',
        '--schedule-id',
        'health_monitor',
        '--pause',
        '--reason',
        'maintenance window',
        '--address',
        sys.config.temporal.address,
        '--namespace',
        sys.config.temporal.namespace,
      ],
      { stdio: 'pipe' },
    );
    const changed = configSchema.parse({ ...sys.config, jobs: { health_monitor: { every: '10m' } } });
    const report = await reconcileSchedules(sys.client, changed, logger);
    expect(report.updated).toEqual(['health_monitor']);
    const d = await sys.client.schedule.getHandle('health_monitor').describe();
    expect(d.state.paused).toBe(true);
    expect(d.state.note).toBe('maintenance window');
    expect(d.spec.intervals?.[0]?.every).toBe(10 * 60_000);
    // Restart with the same table: still paused, nothing to do.
    const again = await reconcileSchedules(sys.client, changed, logger);
    expect(again.updated).toEqual([]);
    expect((await sys.client.schedule.getHandle('health_monitor').describe()).state.paused).toBe(true);
  });

  it('removes schedules it owns that the table no longer has, and leaves others alone', async () => {
    const base = {
      spec: { intervals: [{ every: 3_600_000 }] },
      action: { type: 'startWorkflow' as const, workflowType: 'health_monitor', taskQueue: sys.config.temporal.taskQueue, args: [{}] },
    };
    await sys.client.schedule.create({ scheduleId: 'retired_job', memo: { [OWNER_MEMO_KEY]: OWNER }, ...base });
    await sys.client.schedule.create({ scheduleId: 'someone_elses', ...base });
    // Schedule listing is eventually consistent: wait until the new one is visible.
    await expect
      .poll(async () => {
        for await (const s of sys.client.schedule.list()) if (s.scheduleId === 'retired_job') return true;
        return false;
      }, { timeout: 15_000 })
      .toBe(true);
    const report = await reconcileSchedules(sys.client, sys.config, logger);
    expect(report.removed).toEqual(['retired_job']);
    const listed = async () => {
      const ids: string[] = [];
      for await (const s of sys.client.schedule.list()) ids.push(s.scheduleId);
      return ids;
    };
    await expect.poll(listed, { timeout: 15_000 }).not.toContain('retired_job');
    expect(await listed()).toContain('someone_elses');
  });
});
