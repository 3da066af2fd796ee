import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { CONTROLS_WORKFLOW_ID, SKIP_REASONS } from '../../src/definitions';
import { listAudit } from '../../src/store';
import { startGatedJob, startGatedJobs, startSystem, startTestJob, type TestSystem } from '../helpers/system';

const who = { actor: 'test', reason: 'kill switch test' };

describe('kill switch', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys.close();
  });

  it('stops a job blocked in an activity: the activity is cancelled and no later activity starts', async () => {
    const workflowId = await startGatedJob(sys, 'gated-mid-run');
    expect(sys.acts.stepCalls(workflowId)).toEqual(['one']);

    const state = await sys.ops.setKillSwitch(true, who);
    expect(state.killSwitch).toBe(true);

    const result = await sys.ops.jobResult(workflowId);
    expect(result.outcome).toBe('skipped');
    expect(result.reason).toBe(SKIP_REASONS.killSwitch);
    expect(sys.acts.stepCalls(workflowId)).toEqual(['one']);
    // The activity learns of the cancellation at its next heartbeat.
    await expect.poll(() => sys.acts.cancelled.includes(workflowId), { timeout: 10_000 }).toBe(true);

    const [audit] = await listAudit(sys.store.db, { job: 'periodic_scan', limit: 1 });
    expect(audit).toMatchObject({ workflow_id: workflowId, outcome: 'skipped', success: 0, error: 'Kill switch is active' });

    await sys.ops.setKillSwitch(false, who);
  });

  it('checks before every activity: a job started while the switch is on runs none', async () => {
    await sys.ops.setKillSwitch(true, who);
    const workflowId = await startTestJob(sys, 'stepsJob', 'steps-while-killed', { params: { count: 3 } });
    const result = await sys.ops.jobResult(workflowId);
    expect(result).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.killSwitch });
    expect(sys.acts.stepCalls(workflowId)).toEqual([]);
    await sys.ops.setKillSwitch(false, who);
  });

  it('once the Update has returned, none of many running jobs starts another activity', async () => {
    const ids = await startGatedJobs(sys, Array.from({ length: 8 }, (_, i) => `gated-many-${i}`));
    await sys.ops.setKillSwitch(true, who);
    const callsAtReturn = sys.acts.calls.length;
    // Opening the gate lets any job that missed the signal run step two: none may.
    sys.acts.openGate();
    const results = await Promise.all(ids.map((id) => sys.ops.jobResult(id)));
    expect(results.map((r) => r.outcome)).toEqual(ids.map(() => 'skipped'));
    for (const id of ids) expect(sys.acts.stepCalls(id)).toEqual(['one']);
    expect(sys.acts.calls.slice(callsAtReturn).filter((c) => c.name === 'step')).toEqual([]);
    await sys.ops.setKillSwitch(false, who);
  });

  it('the runs a kill switch ends are taken off the fan-out list together: every id once, in fewer signals than runs', async () => {
    const jobs = 12;
    const ids = await startGatedJobs(sys, Array.from({ length: jobs }, (_, i) => `gated-ended-${i}`));
    const controls = sys.client.workflow.getHandle(CONTROLS_WORKFLOW_ID);
    const { runId } = await controls.describe();
    await sys.ops.setKillSwitch(true, who);
    await Promise.all(ids.map((id) => sys.ops.jobResult(id)));
    await sys.ops.setKillSwitch(false, who);

    const history = await sys.client.workflow.getHandle(CONTROLS_WORKFLOW_ID, runId).fetchHistory();
    const lists = (history.events ?? [])
      .map((e) => e.workflowExecutionSignaledEventAttributes)
      .filter((a) => a?.signalName === 'jobsEnded')
      .map((a) => defaultPayloadConverter.fromPayload<string[]>(a!.input!.payloads![0]!))
      .filter((list) => list.some((id) => ids.includes(id)));
    const ended = lists.flat().filter((id) => ids.includes(id));
    expect([...ended].sort()).toEqual([...ids].sort());
    expect(lists.length).toBeLessThan(jobs);
  });
});
