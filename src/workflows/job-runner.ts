/**
 * The one wrapper every job runs in: register with ops-controls, pre-checks, the body with a
 * guard before every activity, then one audit row, dead letter and alerts through recordRun.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setDefaultSignalHandler,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { checkControlsState, printableName, type ControlsState } from '../controls-model';
import {
  CONTROLS_WORKFLOW_ID,
  JOB_SEARCH_ATTRIBUTE,
  OUTCOME_SEARCH_ATTRIBUTE,
  controlsChangedSignal,
  jobEndedSignal,
  jobProgressQuery,
  type JobInput,
  type JobProgress,
  type JobResult,
} from '../definitions';
import type { JobName } from '../jobs';
import { activityRetryPolicy, isErrorCategory, type ErrorCategory } from '../policies';
import type { Activities, JobSettings } from '../activities';
import { beginDryRun, dryRunReport, noteTemporalChange } from './dry-run';
import { Guard, JobSkipped } from './guard';
import { JobBodyFailed } from './job-failure';

export interface JobContext {
  readonly job: JobName;
  readonly workflowId: string;
  readonly input: JobInput;
  readonly settings: JobSettings;
  /** The controls as they are now (kept current by signal). */
  controls(): ControlsState;
  /** Activities, each call preceded by the guard. */
  readonly act: Activities;
  /** The same with other options, e.g. `{ heartbeatTimeout }` for long activities that heartbeat. */
  activities(options: Partial<ActivityOptions>): Activities;
  /** Any activity interface under the guard (activities registered beside ours, e.g. in tests). */
  proxy<A extends object>(options?: Partial<ActivityOptions>): A;
  /** Runs another job as a child run (guarded like an activity). */
  child(run: { workflowType: string; job: JobName; input: JobInput; workflowId: string }): Promise<JobResult>;
  /** Ends the run as `skipped` with this reason. */
  skip(reason: string): never;
  progress(step: string, detail?: Record<string, unknown>): void;
}

export type JobBody = (ctx: JobContext) => Promise<Record<string, unknown> | void>;

/**
 * Bookkeeping activities, called unguarded: they must run even when the job is stopped, and
 * outlast a store outage (the boundary keeps their store errors retryable), for hours if need be.
 */
export const framework = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '12h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});
const { joinControls } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', maximumAttempts: 5 },
});
/**
 * recordRun as a local activity (patched runs): it runs inside the run's last workflow task, so a
 * run costs no activity dispatch and no extra task for its bookkeeping. It still outlasts a store
 * outage: past the threshold the SDK waits between attempts with timers, for up to 12 hours.
 */
const { recordRun: recordRunLocally } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '12h',
  localRetryThreshold: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});
export const LOCAL_BOOKKEEPING_PATCH = 'job-bookkeeping-local';

/** The failure alert that must not wait for the store (e.g. health_monitor's: spec "alert immediately"). */
const { alertRunFailedDirect } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
});
export const DIRECT_FAILURE_ALERT_PATCH = 'job-direct-failure-alert';

export interface JobOptions {
  /** A failed run alerts the operator directly when the store cannot take the alert (recordRun waits for it). */
  directFailureAlert?: boolean;
}

interface Failure {
  message: string;
  category: ErrorCategory;
  attempts?: number;
}

export async function runJob(job: JobName, input: JobInput, body: JobBody, options: JobOptions = {}): Promise<JobResult> {
  const info = workflowInfo();
  const workflowId = info.workflowId;
  const startedAt = Date.now();
  // Strictly true: anyone can start a workflow, and only a real `true` asks for a dry run.
  const dryRun = input.dryRun === true;
  if (dryRun) beginDryRun();
  let progress: JobProgress = { job, step: 'starting', detail: {} };
  setHandler(jobProgressQuery, () => progress);
  if (!info.typedSearchAttributes.get(JOB_SEARCH_ATTRIBUTE)) {
    upsertSearchAttributes([{ key: JOB_SEARCH_ATTRIBUTE, value: job }]);
  }
  log.info('job started', { job, workflowId, trigger: input.trigger ?? 'manual', ...(dryRun ? { dryRun } : {}) });

  let guard: Guard | undefined;
  const pending: ControlsState[] = [];
  setHandler(controlsChangedSignal, (signalled: unknown) => {
    // Anyone can signal a job: a payload that is not a controls state is dropped, never thrown
    // (a throw would fail every workflow task of this run), and free text in it is clipped.
    const checked = checkControlsState(signalled);
    if (!checked.ok) {
      log.warn('controlsChanged signal dropped', { job, error: checked.error });
      return;
    }
    if (guard) guard.onControlsChanged(checked.value);
    // Before the guard exists keep the newest: joinControls reads the controls after registering,
    // so anything older is already in what it reads (a stale kill-on must not skip a job).
    else if (pending.length === 0 || checked.value.version >= pending[0]!.version) pending.splice(0, pending.length, checked.value);
  });
  // The SDK would keep signals of unknown names in memory for a handler that never comes.
  setDefaultSignalHandler((name: string) => log.warn('unknown signal dropped', { job, signal: printableName(name) }));

  let outcome: Pick<JobResult, 'outcome' | 'reason' | 'error' | 'category' | 'output'>;
  let attempts: number | undefined;
  try {
    const joined = await joinControls({ workflowId, job });
    const g = new Guard(job, joined.controls);
    guard = g;
    for (const state of pending) if (state.version > joined.controls.version) g.onControlsChanged(state);
    const settings = joined.settings;
    const defaults: ActivityOptions = {
      startToCloseTimeout: settings.activityTimeoutMs,
      retry: activityRetryPolicy(settings.retry),
    };
    const proxy = <A extends object>(options: Partial<ActivityOptions> = {}): A =>
      guarded(g, proxyActivities<A>({ ...defaults, ...options }) as A);
    const activities = (options: Partial<ActivityOptions>): Activities => proxy<Activities>(options);
    const ctx: JobContext = {
      job,
      workflowId,
      input,
      settings,
      controls: () => g.controls,
      act: activities({}),
      activities,
      proxy,
      child: async (run) => {
        g.assertMayProceed();
        if (dryRun) {
          noteTemporalChange({ action: `start job ${run.job}`, target: run.workflowId });
          return { job: run.job, workflowId: run.workflowId, outcome: 'skipped', reason: 'dry run: not started', durationMs: 0 };
        }
        return executeChild<(input: JobInput) => Promise<JobResult>>(run.workflowType, {
          workflowId: run.workflowId,
          args: [run.input],
          typedSearchAttributes: [{ key: JOB_SEARCH_ATTRIBUTE, value: run.job }],
        });
      },
      skip: (reason) => {
        throw new JobSkipped(reason);
      },
      progress: (step, detail = {}) => {
        progress = { job, step, detail };
      },
    };
    g.assertMayProceed();
    const output = await g.run(() => body(ctx));
    outcome = { outcome: 'succeeded', output: output ?? undefined };
  } catch (err) {
    if (err instanceof JobSkipped) {
      outcome = { outcome: 'skipped', reason: err.reason };
    } else if (isCancellation(err)) {
      outcome = { outcome: 'skipped', reason: 'Cancelled by request' };
    } else {
      const failure = describeFailure(err);
      attempts = failure.attempts;
      outcome =
        failure.category === 'kill_switch'
          ? { outcome: 'skipped', reason: failure.message }
          : { outcome: 'failed', error: failure.message, category: failure.category, output: err instanceof JobBodyFailed ? err.output : undefined };
    }
  }

  const result: JobResult = { job, workflowId, ...outcome, durationMs: Date.now() - startedAt };
  if (dryRun) result.output = { ...result.output, dryRun: dryRunReport() };
  // Bookkeeping must happen even when the run itself was cancelled.
  await CancellationScope.nonCancellable(async () => {
    let alertedDirectly = false;
    if (result.outcome === 'failed' && options.directFailureAlert && patched(DIRECT_FAILURE_ALERT_PATCH)) {
      const direct = await alertRunFailedDirect({ result }).catch((err: unknown) => {
        log.error('direct failure alert failed', { job, error: err instanceof Error ? err.message : String(err) });
        return undefined;
      });
      if (direct?.path === 'direct') log.warn('failure alerted directly: the store cannot take it', { job, started: direct.started });
      alertedDirectly = direct?.path === 'direct';
    }
    const run = { result, input, attempts, workflowType: info.workflowType, ...(alertedDirectly ? { alertedDirectly } : {}) };
    // Patched runs record locally, and recordRun tells ops-controls the run ended (one RPC from
    // the worker instead of a signal command and the workflow task that waits for it).
    const local = patched(LOCAL_BOOKKEEPING_PATCH);
    const recorded = local ? await recordRunLocally({ ...run, signalEnded: true }) : await framework.recordRun(run);
    if (recorded.alertRaised) log.warn('job failing repeatedly', { job, consecutiveFailures: recorded.consecutiveFailures });
    upsertSearchAttributes([{ key: OUTCOME_SEARCH_ATTRIBUTE, value: result.outcome }]);
    upsertMemo({ outcome: result.outcome, reason: result.reason ?? result.error ?? null, ...(dryRun ? { dryRun: true } : {}) });
    if (!local) {
      await getExternalWorkflowHandle(CONTROLS_WORKFLOW_ID)
        .signal(jobEndedSignal, workflowId)
        .catch(() => undefined);
    }
  });
  log.info('job ended', {
    job,
    workflowId,
    outcome: result.outcome,
    reason: result.reason,
    error: result.error,
    durationMs: result.durationMs,
  });
  if (result.outcome === 'failed') {
    throw ApplicationFailure.create({
      type: 'JobFailed',
      message: `${job} failed (${result.category}): ${result.error}`,
      nonRetryable: true,
      details: [result],
    });
  }
  return result;
}

function guarded<A extends object>(guard: Guard, proxy: A): A {
  return new Proxy(proxy, {
    get(target, name) {
      const fn = Reflect.get(target, name) as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]) => {
        guard.assertMayProceed();
        return fn(...args);
      };
    },
  });
}

export function describeFailure(err: unknown): Failure {
  if (err instanceof JobBodyFailed) return { message: err.message, category: err.category };
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    const cause = err.cause;
    const detail = cause.details?.[0] as { attempt?: number } | undefined;
    return {
      message: cause.message,
      category: isErrorCategory(cause.type) ? cause.type : 'internal',
      attempts: detail?.attempt,
    };
  }
  if (err instanceof ActivityFailure) {
    return { message: err.cause?.message ?? err.message, category: 'transient' };
  }
  if (err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure) {
    const child = err.cause.details?.[0] as JobResult | undefined;
    return { message: err.cause.message, category: isErrorCategory(child?.category) ? child.category : 'internal' };
  }
  return { message: err instanceof Error ? err.message : String(err), category: 'internal' };
}
