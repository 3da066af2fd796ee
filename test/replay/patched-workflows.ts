/**
 * health_monitor with the same reordering as changed-workflows.ts, done the safe way: the new
 * order is gated by `patched()`. A run recorded before the change has no marker for the patch,
 * so replaying it takes the old branch and issues the old commands; a new run takes the new
 * branch and records the marker. Once no run of the old code can be running, the old branch goes
 * and `patched` becomes `deprecatePatch` (then, later, nothing).
 */
import { patched } from '@temporalio/workflow';
import type { HealthReport } from '../../src/activities/health';
import type { JobInput, JobResult } from '../../src/definitions';
import { runJob, type JobContext } from '../../src/workflows/job-runner';

export const DISK_FIRST_PATCH = 'health-monitor-disk-first';

type Checks = Omit<HealthReport, 'controls'>;

export async function health_monitor(input: JobInput = {}): Promise<JobResult> {
  return runJob('health_monitor', input, async (ctx) => {
    if (patched(DISK_FIRST_PATCH)) {
      const disk = await ctx.act.checkDisk();
      const store = await ctx.act.checkStore();
      const temporal = await ctx.act.checkTemporal();
      return record(ctx, { store, temporal, disk });
    }
    const store = await ctx.act.checkStore();
    const temporal = await ctx.act.checkTemporal();
    const disk = await ctx.act.checkDisk();
    return record(ctx, { store, temporal, disk });
  });
}

async function record(ctx: JobContext, checks: Checks): Promise<Record<string, unknown>> {
  const { killSwitch, jobsEnabled, commsEnabled, writeEnabled } = ctx.controls();
  const report: HealthReport = { ...checks, controls: { killSwitch, jobsEnabled, commsEnabled, writeEnabled } };
  const recorded = await ctx.act.recordHealth({ workflowId: ctx.workflowId, report });
  return { ...recorded, report };
}
