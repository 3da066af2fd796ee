/**
 * Jobs of the spec whose bodies come in later issues. They run the whole wrapper (so pre-checks,
 * audit and schedules are real) and end `skipped` with reason "not implemented": visible, never silent.
 */
import { SKIP_REASONS, type JobInput, type JobResult } from '../definitions';
import { runJob } from './job-runner';

export const run_watchers = (input: JobInput = {}): Promise<JobResult> =>
  runJob('run_watchers', input, async (ctx) => ctx.skip(SKIP_REASONS.notImplemented));
