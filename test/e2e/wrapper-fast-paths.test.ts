/**
 * The wrapper's cheaper paths (issue 12), each with what it must keep:
 * - a run records itself with a local activity, inside its last workflow task, and recordRun
 *   takes it off ops-controls' list (jobEnded) — the audit row and the list stay right;
 * - ops-controls answers a kill switch once the mirror holds it, before its signals have reached
 *   every job — and every job still stops, none starting another activity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { temporal } from '@temporalio/proto';
import { CONTROLS_WORKFLOW_ID, SKIP_REASONS } from '../../src/definitions';
import { listAudit } from '../../src/store';
import { startGatedJob, startSystem, startTestJob, type TestSystem } from '../helpers/system';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const who = { actor: 'test', reason: 'fast paths' };

async function historyOf(sys: TestSystem, workflowId: string): Promise<HistoryEvent[]> {
  return (await sys.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

const type = (e: HistoryEvent): string => String(e.eventType);

describe('the wrapper records a run locally and answers a kill switch before its fan-out', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys.close();
  });

  it('a run is recorded by a local activity in its last task, and recordRun says jobsEnded to ops-controls', async () => {
    const workflowId = await startTestJob(sys, 'noopJob', 'fast-noop-1');
    const result = await sys.ops.jobResult(workflowId);
    expect(result.outcome).toBe('succeeded');
    const events = await historyOf(sys, workflowId);
    const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    expect(scheduled).not.toContain('recordRun');
    expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toHaveLength(2);
    expect(events.some((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)).toBe(false);
    // Started, one workflow task, completed: nothing waits on a dispatch or a signal.
    expect(events.filter((e) => type(e).endsWith('WORKFLOW_TASK_COMPLETED') || type(e) === '6')).toHaveLength(1);
    const [audit] = await listAudit(sys.store.db, { job: 'periodic_scan', limit: 1 });
    expect(audit).toMatchObject({ workflow_id: workflowId, outcome: 'succeeded' });
    const controls = await historyOf(sys, CONTROLS_WORKFLOW_ID);
    const ended = controls
      .filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'jobsEnded')
      .flatMap((e) => JSON.parse(Buffer.from(e.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!.data!).toString()) as string[]);
    expect(ended).toContain(workflowId);
  });

  it('the kill switch is answered before its signals are delivered, and still stops every job', async () => {
    const ids = await Promise.all([0, 1, 2].map((i) => startGatedJob(sys, `fast-gated-${i}`)));
    const answered = await sys.ops.setKillSwitch(true, who);
    expect(answered.killSwitch).toBe(true);
    for (const id of ids) {
      const result = await sys.ops.jobResult(id);
      expect(result).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.killSwitch });
      expect(sys.acts.stepCalls(id)).toEqual(['one']);
    }
    const controls = await historyOf(sys, CONTROLS_WORKFLOW_ID);
    const updateDone = controls.findIndex((e) => e.workflowExecutionUpdateCompletedEventAttributes);
    const firstSignalled = controls.findIndex((e) => e.externalWorkflowExecutionSignaledEventAttributes);
    expect(updateDone).toBeGreaterThan(-1);
    expect(firstSignalled).toBeGreaterThan(updateDone);
    await sys.ops.setKillSwitch(false, who);
  });
});
