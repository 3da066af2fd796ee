import { workflowInfo } from '@temporalio/workflow';
import type { JobInput, JobResult } from '../definitions';
import { runJob } from './job-runner';

/**
 * Spec job 8. Temporal already retries activities; what is left for this job is the dead letters
 * of the transient category, re-run as child jobs with the spec's backoff between attempts.
 */
export async function process_retry_queue(input: JobInput = {}): Promise<JobResult> {
  return runJob('process_retry_queue', input, async (ctx) => {
    const due = await ctx.act.claimDueDeadLetters();
    const counts = { claimed: due.length, succeeded: 0, failed: 0, skipped: 0 };
    const run = workflowInfo().runId.slice(0, 8);
    for (const [index, letter] of due.entries()) {
      ctx.progress('replaying', { deadLetter: letter.id, job: letter.job, done: index, of: due.length });
      const outcome = await ctx
        .child({
          workflowType: letter.workflowType,
          job: letter.job,
          input: { ...letter.input, trigger: 'retry_queue', replayOf: letter.id },
          workflowId: `${letter.job}-retry-dl${letter.id}-${run}`,
        })
        .then(
          (result) => result.outcome,
          () => 'failed' as const,
        );
      counts[outcome] += 1;
    }
    return counts;
  });
}
