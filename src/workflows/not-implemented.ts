/**
 * Jobs of the spec whose bodies come in later issues. They run the whole wrapper (so pre-checks,
 * audit and schedules are real) and end `skipped` with reason "not implemented": visible, never silent.
 */
import { SKIP_REASONS, type JobInput, type JobResult } from '../definitions';
import type { JobName } from '../jobs';
import { runJob } from './job-runner';

function pending(job: JobName, input: JobInput): Promise<JobResult> {
  return runJob(job, input, async (ctx) => ctx.skip(SKIP_REASONS.notImplemented));
}

export const periodic_scan = (input: JobInput = {}): Promise<JobResult> => pending('periodic_scan', input);
export const daily_digest = (input: JobInput = {}): Promise<JobResult> => pending('daily_digest', input);
export const morning_call = (input: JobInput = {}): Promise<JobResult> => pending('morning_call', input);
export const sync_notion = (input: JobInput = {}): Promise<JobResult> => pending('sync_notion', input);
export const sync_n8n = (input: JobInput = {}): Promise<JobResult> => pending('sync_n8n', input);
export const sync_hubspot = (input: JobInput = {}): Promise<JobResult> => pending('sync_hubspot', input);
export const run_watchers = (input: JobInput = {}): Promise<JobResult> => pending('run_watchers', input);
