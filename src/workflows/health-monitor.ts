import { patched } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ApiCheck, ApiSource, CheckResult, HealthReport } from '../activities/health';
import type { JobInput, JobResult } from '../definitions';
import { sourceTaskQueue } from '../sources';
import { describeFailure, runJob, type JobContext } from './job-runner';
import { isControlsStop } from './sync-source';

/** Runs recorded before the API checks and the direct alert take the old branch on replay. */
export const HEALTH_APIS_PATCH = 'health-monitor-apis-direct-alert';

/** The spec's "external APIs (Notion, n8n, HubSpot)". */
const APIS = ['notion', 'n8n', 'hubspot'] as const satisfies readonly ApiSource[];

/** A check answers or it is a finding: one try, bounded. */
const CHECK_OPTIONS = { startToCloseTimeout: '30s', retry: { maximumAttempts: 1 } } as const;

/**
 * Spec job 10: store, Temporal, disk, each configured API and the controls; runs even when jobs
 * are disabled. A store that cannot take the report sends it straight to the operator (SEV1); a
 * run that fails reaches the operator at once too (directFailureAlert).
 */
export async function health_monitor(input: JobInput = {}): Promise<JobResult> {
  return runJob(
    'health_monitor',
    input,
    async (ctx) => {
      if (!patched(HEALTH_APIS_PATCH)) return coreChecksOnly(ctx);
      const checks = ctx.activities(CHECK_OPTIONS);
      const [store, temporal, disk, ...apis] = await Promise.all([
        checks.checkStore(),
        checks.checkTemporal(),
        checks.checkDisk(),
        ...APIS.map((source) => checkApi(ctx, source)),
      ]);
      const report: HealthReport = {
        store,
        temporal,
        disk,
        apis: Object.fromEntries(APIS.map((source, i) => [source, apis[i]!])),
        controls: controlsOf(ctx),
      };
      try {
        // A store that failed its check gets one try; a working one the usual retries.
        const recorder = store.ok ? ctx.act : ctx.activities({ retry: { maximumAttempts: 1 } });
        const recorded = await recorder.recordHealth({ workflowId: ctx.workflowId, report });
        return { ...recorded, recorded: true, report };
      } catch (err) {
        if (isControlsStop(err)) throw err;
        const storeError = store.ok ? describeFailure(err).message : (store.detail ?? describeFailure(err).message);
        const direct = await ctx.act.alertHealthDirect({ workflowId: ctx.workflowId, report, storeError });
        return { healthy: false, recorded: false, alerted: direct.started, direct, report };
      }
    },
    { directFailureAlert: true },
  );
}

/** One cheap authenticated read on the API's own task queue, inside its rate limit. */
async function checkApi(ctx: JobContext, source: ApiSource): Promise<ApiCheck> {
  const { checkSourceApi } = ctx.proxy<Activities>({ ...CHECK_OPTIONS, taskQueue: sourceTaskQueue(ctx.settings.taskQueue, source), scheduleToCloseTimeout: '1m' });
  try {
    return await checkSourceApi({ source });
  } catch (err) {
    if (isControlsStop(err)) throw err;
    const failed: CheckResult = { ok: false, latencyMs: 0, detail: `the ${source} check did not answer: ${describeFailure(err).message}` };
    return { configured: true, ...failed };
  }
}

function controlsOf(ctx: JobContext): HealthReport['controls'] {
  const { killSwitch, jobsEnabled, commsEnabled, writeEnabled } = ctx.controls();
  return { killSwitch, jobsEnabled, commsEnabled, writeEnabled };
}

/** The run as recorded before HEALTH_APIS_PATCH: core checks in order, then the record. */
async function coreChecksOnly(ctx: JobContext): Promise<Record<string, unknown>> {
  const store = await ctx.act.checkStore();
  const temporal = await ctx.act.checkTemporal();
  const disk = await ctx.act.checkDisk();
  const report = { store, temporal, disk, controls: controlsOf(ctx) };
  const recorded = await ctx.act.recordHealth({ workflowId: ctx.workflowId, report });
  return { ...recorded, report };
}
