/** health_monitor as a careless edit would leave it: the same job, its checks in another order. */
import type { JobInput, JobResult } from '../../src/definitions';
import { runJob } from '../../src/workflows/job-runner';

export async function health_monitor(input: JobInput = {}): Promise<JobResult> {
  return runJob('health_monitor', input, async (ctx) => {
    const disk = await ctx.act.checkDisk();
    const store = await ctx.act.checkStore();
    const temporal = await ctx.act.checkTemporal();
    const { killSwitch, jobsEnabled, commsEnabled, writeEnabled } = ctx.controls();
    const report = { store, temporal, disk, controls: { killSwitch, jobsEnabled, commsEnabled, writeEnabled } };
    return ctx.act.recordHealth({ workflowId: ctx.workflowId, report });
  });
}
