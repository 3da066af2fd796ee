import { CancellationScope, CancelledFailure, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import type { JobInput, JobResult } from '../definitions';
import { JobSkipped } from './guard';
import { framework, runJob } from './job-runner';

/**
 * Spec job 8. Temporal already retries activities; what is left for this job is the dead letters
 * of the retried categories (transient, external API), re-run as child jobs with the spec's
 * backoff between attempts. Each child records how its replay ended on its letter.
 */
export async function process_retry_queue(input: JobInput = {}): Promise<JobResult> {
  return runJob('process_retry_queue', input, async (ctx) => {
    const due = await ctx.act.claimDueDeadLetters();
    const counts = { claimed: due.length, succeeded: 0, failed: 0, skipped: 0 };
    const run = workflowInfo().runId.slice(0, 8);
    for (const [index, letter] of due.entries()) {
      ctx.progress('replaying', { deadLetter: letter.id, job: letter.job, done: index, of: due.length });
      let outcome: JobResult['outcome'];
      try {
        // A person's cancel reaches this run, not the replay in flight: it stops before the next.
        if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('Cancelled by request');
        // A replay is a job run with its own guard: the controls stop it themselves. Cancelling it
        // from here when they stop this run would make a kill switch look like a cancelled replay.
        outcome = await CancellationScope.nonCancellable(() =>
          ctx.child({
            workflowType: letter.workflowType,
            job: letter.job,
            input: { ...letter.input, trigger: 'retry_queue', replayOf: letter.id },
            workflowId: `${letter.job}-retry-dl${letter.id}-${run}`,
          }),
        ).then((result) => result.outcome);
      } catch (err) {
        if (!(err instanceof JobSkipped) && !isCancellation(err)) {
          outcome = 'failed';
        } else {
          // The controls stopped this run (kill switch, jobs disabled), or a person cancelled it,
          // before this replay started: it and the ones after it go back untouched, and the run
          // ends skipped, not succeeded.
          if (patched('retry-queue-release-on-stop')) {
            const left = due.slice(index).map((l) => l.id);
            await CancellationScope.nonCancellable(() => framework.releaseDeadLetters(left));
          }
          throw err;
        }
      }
      counts[outcome] += 1;
    }
    return counts;
  });
}
