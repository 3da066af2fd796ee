/**
 * patched('run-watchers-body'): run_watchers ran as "not implemented" before it. The history from
 * before has no marker and ended skipped; the ones after record the marker and run every watcher
 * (test/replay/replay.test.ts replays all of them against the current code).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUN_WATCHERS_PATCH } from '../../src/workflows/run-watchers';

interface HistoryEvent {
  eventType: string;
  markerRecordedEventAttributes?: { markerName: string; details?: Record<string, { payloads: { data: string }[] }> };
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  workflowExecutionCompletedEventAttributes?: { result: { payloads: { data: string }[] } };
}

const events = (file: string): HistoryEvent[] =>
  (JSON.parse(readFileSync(join(__dirname, '..', 'histories', file), 'utf8')) as { events: HistoryEvent[] }).events;
const decode = (data: string): unknown => JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
const patchIds = (history: HistoryEvent[]): string[] =>
  history
    .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
    .map((e) => (decode(e.markerRecordedEventAttributes!.details!['patch-data']!.payloads[0]!.data) as { id: string }).id);
const activities = (history: HistoryEvent[]): string[] =>
  history.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));

describe(`patched('${RUN_WATCHERS_PATCH}')`, () => {
  it('the history from before it: no marker, no watcher, the run ended skipped "not implemented"', () => {
    const history = events('run_watchers.json');
    expect(patchIds(history)).toEqual([]);
    expect(activities(history)).not.toContain('runWatcher');
    const completed = history.find((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(decode(completed!.workflowExecutionCompletedEventAttributes!.result.payloads[0]!.data)).toMatchObject({ outcome: 'skipped', reason: 'not implemented' });
  });

  it('the histories from after it: the marker, the list, one runWatcher per watcher; the failed one ends failed', () => {
    for (const file of ['run_watchers-watchers.json', 'run_watchers-watcher-failed.json']) {
      const history = events(file);
      expect(patchIds(history)).toEqual([RUN_WATCHERS_PATCH]);
      const scheduled = activities(history);
      expect(scheduled).toContain('listWatchers');
      expect(scheduled.filter((a) => a === 'runWatcher').length).toBeGreaterThanOrEqual(4);
    }
    expect(events('run_watchers-watchers.json').at(-1)!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(events('run_watchers-watcher-failed.json').at(-1)!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
  });
});
