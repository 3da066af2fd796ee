import type { JobInput, JobResult } from '../definitions';
import { runJob } from './job-runner';

/** Spec job 10: store, Temporal, disk and controls; runs even when jobs are disabled. */
export async function health_monitor(input: JobInput = {}): Promise<JobResult> {
  return runJob('health_monitor', input, async (ctx) => {
    const store = await ctx.act.checkStore();
    const temporal = await ctx.act.checkTemporal();
    const disk = await ctx.act.checkDisk();
    const { killSwitch, jobsEnabled, commsEnabled, writeEnabled } = ctx.controls();
    const report = { store, temporal, disk, controls: { killSwitch, jobsEnabled, commsEnabled, writeEnabled } };
    const recorded = await ctx.act.recordHealth({ workflowId: ctx.workflowId, report });
    return { ...recorded, report };
  });
}
