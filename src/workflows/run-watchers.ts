/**
 * Spec job 7: every watcher of the table, in parallel, one activity each (the guard checks before
 * each). A watcher that fails is logged and named in the output, and never stops the others:
 * each reports (and resolves) its incidents on its own.
 *
 * A run where some watcher failed ends `failed`, after every other watcher has reported, with
 * every watcher's result as output (as periodic_scan does when a source fails): a watcher that
 * cannot look is a blind spot the operator must hear of, and the job's streak alerts apply. Its
 * category is `internal` (a watcher's read failing is our bug or our store): the next run, five
 * minutes later, is the retry, not the retry queue.
 */
import { log, patched } from '@temporalio/workflow';
import { SKIP_REASONS, type JobInput, type JobResult } from '../definitions';
import type { WatcherRun } from '../activities/watchers/runner';
import { JobBodyFailed } from './job-failure';
import { describeFailure, runJob } from './job-runner';
import { isControlsStop } from './sync-source';

/** Runs recorded while run_watchers was "not implemented" must replay as that skip. */
export const RUN_WATCHERS_PATCH = 'run-watchers-body';

export type WatcherOutcome = ({ outcome: 'succeeded' } & WatcherRun) | { watcher: string; outcome: 'failed'; error: string; category: string };

const MAX_ERROR_CHARS = 300;

export async function run_watchers(input: JobInput = {}): Promise<JobResult> {
  return runJob('run_watchers', input, async (ctx) => {
    if (!patched(RUN_WATCHERS_PATCH)) ctx.skip(SKIP_REASONS.notImplemented);
    const names = await ctx.act.listWatchers();
    ctx.progress('running watchers', { watchers: names });
    const settled = await Promise.allSettled(names.map((name) => ctx.act.runWatcher({ name })));
    const watchers: WatcherOutcome[] = [];
    for (const [i, s] of settled.entries()) {
      const name = names[i]!;
      if (s.status === 'fulfilled') {
        watchers.push({ outcome: 'succeeded', ...s.value });
        continue;
      }
      // A stop (kill switch, jobs off) ends the whole run as skipped, as for every job.
      if (isControlsStop(s.reason)) throw s.reason;
      const failure = describeFailure(s.reason);
      const error = failure.message.length > MAX_ERROR_CHARS ? `${failure.message.slice(0, MAX_ERROR_CHARS)}...` : failure.message;
      log.warn('watcher failed', { watcher: name, error, category: failure.category });
      watchers.push({ watcher: name, outcome: 'failed', error, category: failure.category });
    }
    const failed = watchers.filter((w): w is Extract<WatcherOutcome, { outcome: 'failed' }> => w.outcome === 'failed');
    const incidents = watchers.reduce(
      (sum, w) => (w.outcome === 'succeeded' ? { opened: sum.opened + w.opened, recurred: sum.recurred + w.recurred, resolved: sum.resolved + w.resolved } : sum),
      { opened: 0, recurred: 0, resolved: 0 },
    );
    const output = { watchers, incidents };
    if (failed.length === 0) return output;
    const each = failed.map((w) => `${w.watcher} (${w.category}): ${w.error}`).join('; ');
    throw new JobBodyFailed(`${failed.length} of ${watchers.length} watchers failed: ${each}`, 'internal', output);
  });
}
