import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SKIP_REASONS } from '../../src/definitions';
import { listAudit, latestHealthCheck } from '../../src/store';
import { startSystem, startTestJob, type TestSystem } from '../helpers/system';

const who = { actor: 'test', reason: 'pre-check test' };

/** A quiet-hours window that contains the present moment, in UTC. */
function windowAroundNow(): { start: string; end: string } {
  const now = new Date();
  const fmt = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  return { start: fmt(new Date(now.getTime() - 60 * 60_000)), end: fmt(new Date(now.getTime() + 60 * 60_000)) };
}

describe('pre-checks before every job', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys.close();
  });

  it('jobs disabled: an ordinary job is skipped, health_monitor still runs its checks', async () => {
    await sys.ops.changeControls({ jobsEnabled: false, ...who });
    try {
      const skipped = await sys.ops.jobResult(await startTestJob(sys, 'stepsJob', 'steps-jobs-disabled'));
      expect(skipped).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.jobsDisabled });
      expect(sys.acts.stepCalls('steps-jobs-disabled')).toEqual([]);

      const health = await sys.ops.runJob('health_monitor');
      expect(health.outcome).toBe('succeeded');
      const record = await latestHealthCheck(sys.store.db);
      expect(record?.workflow_id).toBe(health.workflowId);
      expect(JSON.parse(record!.checks as string).controls.jobsEnabled).toBe(false);
    } finally {
      await sys.ops.changeControls({ jobsEnabled: true, ...who });
    }
  });

  it('quiet hours: an ordinary job is skipped, an emergency job runs', async () => {
    await sys.ops.changeControls({ quietHours: { enabled: true, timeZone: 'UTC', ...windowAroundNow() }, ...who });
    try {
      const quiet = await sys.ops.jobResult(await startTestJob(sys, 'stepsJob', 'steps-quiet'));
      expect(quiet).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.quietHours });
      expect(sys.acts.stepCalls('steps-quiet')).toEqual([]);

      const emergency = await sys.ops.runJob('health_monitor');
      expect(emergency.outcome).toBe('succeeded');
    } finally {
      await sys.ops.changeControls({ quietHours: { enabled: false }, ...who });
    }
    const after = await sys.ops.jobResult(await startTestJob(sys, 'stepsJob', 'steps-after-quiet'));
    expect(after.outcome).toBe('succeeded');
    expect(sys.acts.stepCalls('steps-after-quiet')).toEqual(['step-1', 'step-2', 'step-3']);
  });

  it('writes disabled: a job that writes is skipped with that reason', async () => {
    await sys.ops.changeControls({ writeEnabled: false, ...who });
    try {
      const result = await sys.ops.runJob('cleanup_old_data');
      expect(result).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.writesDisabled });
    } finally {
      await sys.ops.changeControls({ writeEnabled: true, ...who });
    }
  });

  it('no job of the catalogue is left "not implemented": run_watchers, the last one built, runs and is audited', async () => {
    const result = await sys.ops.runJob('run_watchers');
    expect(result).toMatchObject({ job: 'run_watchers', outcome: 'succeeded' });
    expect(result.reason).not.toBe(SKIP_REASONS.notImplemented);
    const [row] = await listAudit(sys.store.db, { job: 'run_watchers', limit: 1 });
    expect(row).toMatchObject({ workflow_id: result.workflowId, outcome: 'succeeded', action_type: 'system' });
  });

  it('periodic_scan with no data source configured ends skipped "not configured"', async () => {
    const result = await sys.ops.runJob('periodic_scan');
    expect(result).toMatchObject({ outcome: 'skipped', reason: 'not configured' });
  });

  it('every run carries its job as a search attribute and its outcome in search attribute and memo', async () => {
    const result = await sys.ops.runJob('health_monitor');
    const handle = sys.client.workflow.getHandle(result.workflowId);
    const description = await handle.describe();
    expect(description.memo).toMatchObject({ outcome: 'succeeded' });
    expect(description.searchAttributes).toMatchObject({ OpsJob: ['health_monitor'], OpsOutcome: ['succeeded'] });
    await expect
      .poll(
        async () => {
          const ids: string[] = [];
          for await (const wf of sys.client.workflow.list({ query: `OpsJob = "health_monitor" AND OpsOutcome = "succeeded"` })) {
            ids.push(wf.workflowId);
          }
          return ids.includes(result.workflowId);
        },
        { timeout: 10_000 },
      )
      .toBe(true);
  });
});
