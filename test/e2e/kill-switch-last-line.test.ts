/**
 * The controls' last lines, each exercised alone:
 * - the store re-read at the activity boundary (src/activities/boundary.ts) stops a job that never
 *   heard of the kill switch (it fell out of ops-controls' registry, so no signal reached it);
 * - the guard's per-call check in `guarded()` (src/workflows/job-runner.ts) stops a job whose
 *   stop condition arrived without any signal: quiet hours that begin while it runs.
 * Each test fails when its check is removed (the other lines let the next activity run).
 */
import { describe, expect, it } from 'vitest';
import type { temporal } from '@temporalio/proto';
import { CONTROLS_WORKFLOW_ID, SKIP_REASONS } from '../../src/definitions';
import { startGatedJob, systemPerSuite, type TestSystem } from '../helpers/system';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const who = { actor: 'test', reason: 'last line of the controls' };

async function historyOf(sys: TestSystem, workflowId: string): Promise<HistoryEvent[]> {
  return (await sys.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

const signalsNamed = (events: HistoryEvent[], name: string) =>
  events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name);

/** The `step` activities the workflow scheduled, whether or not their body ever ran. */
const scheduledSteps = (events: HistoryEvent[]) =>
  events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'step');

describe('the activity boundary: a job that missed the kill-switch signal', () => {
  const system = systemPerSuite();

  it('is refused its next activity after the kill switch is turned on', async () => {
    const sys = system();
    const workflowId = await startGatedJob(sys, 'missed-the-signal');
    // The job falls out of ops-controls' registry (as if evicted, or its registration lost):
    // the kill switch's fan-out will not signal it.
    await sys.client.workflow.getHandle(CONTROLS_WORKFLOW_ID).signal('jobEnded', workflowId);
    await sys.ops.setKillSwitch(true, who);

    // The job's gate opens: its guard still holds the old controls and lets step two be scheduled.
    sys.acts.openGate();
    const result = await sys.ops.jobResult(workflowId);
    expect(result).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.killSwitch });

    const events = await historyOf(sys, workflowId);
    expect(signalsNamed(events, 'controlsChanged')).toEqual([]); // it really never heard
    expect(scheduledSteps(events)).toHaveLength(2); // the workflow side let step two through
    expect(sys.acts.stepCalls(workflowId)).toEqual(['one']); // the boundary refused it
    await sys.ops.setKillSwitch(false, who);
  });
});

describe("the guard's per-call check: quiet hours that begin while a job runs", () => {
  const system = systemPerSuite();

  /** "HH:MM" in UTC of an instant. */
  const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

  it('stops the job before its next activity, though no signal announced the stop', { timeout: 150_000 }, async () => {
    const sys = system();
    const workflowId = await startGatedJob(sys, 'runs-into-quiet-hours');

    // Quiet hours from the next whole minute that is at least 10 s away, for ten minutes. The job
    // receives them by signal while they are not yet in force, so nothing is cancelled then.
    const now = Date.now();
    const begins = Math.ceil((now + 10_000) / 60_000) * 60_000;
    await sys.ops.changeControls({
      quietHours: { enabled: true, start: hhmm(begins), end: hhmm(begins + 10 * 60_000), timeZone: 'UTC' },
      ...who,
    });
    await new Promise((resolve) => setTimeout(resolve, begins + 1_000 - Date.now()));

    // Now in quiet hours. No signal comes; the boundary does not look at quiet hours. Only the
    // guard, asked again before step two, can stop the job.
    sys.acts.openGate();
    const result = await sys.ops.jobResult(workflowId);
    expect(result).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.quietHours });
    expect(sys.acts.stepCalls(workflowId)).toEqual(['one']);

    const events = await historyOf(sys, workflowId);
    expect(signalsNamed(events, 'controlsChanged')).toHaveLength(1); // the change, sent before the window
    expect(scheduledSteps(events)).toHaveLength(1); // step two was never even scheduled
  });
});
