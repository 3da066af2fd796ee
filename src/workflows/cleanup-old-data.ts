import type { JobInput, JobResult } from '../definitions';
import { runJob } from './job-runner';

/** Spec job 9: archive (never delete) audit rows, resolved dead letters and resolved incidents. */
export async function cleanup_old_data(input: JobInput = {}): Promise<JobResult> {
  return runJob('cleanup_old_data', input, async (ctx) => {
    const archived = await ctx.act.archiveOldData();
    return { archived };
  });
}
