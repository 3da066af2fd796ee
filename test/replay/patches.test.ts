/**
 * The `patched()` calls of the workflow code, each with a history from before it and one from
 * after it (test/replay/replay.test.ts replays both against the current code). These checks keep
 * the pair honest: the old one must be the path the patch keeps, the new one the path it adds.
 * Remove a patch only through deprecatePatch(), once no history without its marker can replay.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

interface HistoryEvent {
  eventType: string;
  markerRecordedEventAttributes?: { markerName: string; details?: Record<string, { payloads: { data: string }[] }> };
  workflowExecutionCompletedEventAttributes?: { result: { payloads: { data: string }[] } };
}

const events = (file: string): HistoryEvent[] =>
  (JSON.parse(readFileSync(join(__dirname, '..', 'histories', file), 'utf8')) as { events: HistoryEvent[] }).events;

const decode = (data: string): unknown => JSON.parse(Buffer.from(data, 'base64').toString('utf8'));

function patchIds(history: HistoryEvent[]): string[] {
  return history
    .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
    .map((e) => (decode(e.markerRecordedEventAttributes!.details!['patch-data']!.payloads[0]!.data) as { id: string }).id);
}

describe("patched('periodic-scan-partial-failure'): a scan with some sources failed ends failed", () => {
  it('the history from before it: 3 of 4 sources failed, no marker, the run completed as succeeded', () => {
    const history = events('periodic_scan-partial-failure-v1.json');
    expect(patchIds(history)).toEqual([]);
    const completed = history.find((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    const result = decode(completed!.workflowExecutionCompletedEventAttributes!.result.payloads[0]!.data) as {
      outcome: string;
      output: { sources: { outcome: string }[] };
    };
    expect(result.outcome).toBe('succeeded');
    expect(result.output.sources.map((s) => s.outcome).sort()).toEqual(['failed', 'failed', 'failed', 'succeeded']);
  });

  it('the history from after it: the same scan records the marker and fails', () => {
    const history = events('periodic_scan-partial-failure.json');
    expect(patchIds(history)).toEqual(['periodic-scan-partial-failure']);
    expect(history.at(-1)!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
  });

  it('a scan where every source synced asks no patch: its history stays as it was', () => {
    expect(patchIds(events('periodic_scan.json'))).toEqual([]);
  });
});

const scheduledActivities = (history: HistoryEvent[]): string[] =>
  history
    .map((e) => (e as { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }).activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((n): n is string => n !== undefined);

describe("patched('job-bookkeeping-local'): a run records itself with a local activity", () => {
  it('the history from before it: recordRun is an activity task and jobEnded a signal command', () => {
    const history = events('daily_digest.json');
    expect(patchIds(history)).toEqual([]);
    expect(scheduledActivities(history)).toContain('recordRun');
    expect(history.some((e) => e.eventType === 'EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED')).toBe(true);
  });

  it('the history from after it: the marker, recordRun as a local activity, no signal command', () => {
    const history = events('daily_digest.s14.json');
    expect(patchIds(history)).toEqual(['job-bookkeeping-local']);
    expect(scheduledActivities(history)).not.toContain('recordRun');
    expect(history.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length).toBeGreaterThanOrEqual(2);
    expect(history.some((e) => e.eventType === 'EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED')).toBe(false);
  });
});

describe("patched('controls-answer-before-fanout'): ops-controls answers before its signals are delivered", () => {
  const updateAndSignals = (history: HistoryEvent[]) => {
    const done = history.findIndex((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED');
    const signalled = history.findIndex((e) => e.eventType === 'EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED');
    return { done, signalled };
  };

  it('the history from before it: no marker', () => {
    expect(patchIds(events('opsControls.json'))).toEqual([]);
  });

  it('the history from after it: the marker, and an Update completed before the first signal was delivered', () => {
    const history = events('opsControls.s14.json');
    expect(patchIds(history)).toContain('controls-answer-before-fanout');
    const { done, signalled } = updateAndSignals(history);
    expect(done).toBeGreaterThan(-1);
    expect(signalled).toBeGreaterThan(done);
  });
});
