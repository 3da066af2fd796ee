/**
 * The activity boundary, written once: a last-line kill-switch check against the store mirror,
 * one child logger per activity with its duration, and every error classified into its spec
 * category as an ApplicationFailure (retryable or not per the policy table; Retry-After honoured).
 */
import { type Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import { DRY_RUN_HEADER } from '../definitions';
import { runDryRunActivity } from './dry-run';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { classifyError, KillSwitchActive, OpsError } from '../errors';
import { CATEGORY_POLICIES, mayRetry, type ErrorCategory } from '../policies';
import { readControls } from '../store';
import type { ActivityDeps } from './deps';
import { DIRECT_ALERT_ACTIVITY_NAMES } from './direct-alert';
import { FRAMEWORK_ACTIVITY_NAMES } from './framework';
import { HEALTH_ACTIVITY_NAMES } from './health';
import { ROUTED_ACTIVITY_NAMES } from './notify';

export function activityBoundary(deps: Pick<ActivityDeps, 'store' | 'config'>) {
  return (ctx: Context): { inbound: ActivityInboundCallsInterceptor } => ({
    inbound: new ActivityBoundary(ctx, deps),
  });
}

/**
 * Activities that skip the last-line read of the controls, each family for its own reason:
 * bookkeeping must record a stopped job; routed sends store a suppressed notification instead;
 * health checks and direct alerts must answer while the store is down, so they must not need it
 * (they write nothing but their own records and alerts, which the router's gate, or the direct
 * alert's read of the live controls from ops-controls, still stops). Every other activity gets the check.
 */
const EXEMPT_FROM_CONTROLS_READ: readonly ReadonlySet<string>[] = [
  FRAMEWORK_ACTIVITY_NAMES,
  ROUTED_ACTIVITY_NAMES,
  HEALTH_ACTIVITY_NAMES,
  DIRECT_ALERT_ACTIVITY_NAMES,
];

export function readsControlsFirst(activityType: string): boolean {
  return !EXEMPT_FROM_CONTROLS_READ.some((names) => names.has(activityType));
}

/**
 * A dry run's own bookkeeping is real: it joins ops-controls, and its audit row (which says dry
 * run) is written. Every other activity of a dry run writes, sends and changes nothing.
 */
const RUN_FOR_REAL_IN_DRY_RUN: ReadonlySet<string> = new Set(['joinControls', 'recordRun']);

/** The workflow marked this activity as part of a dry run (workflows/interceptors.ts). */
function isDryRun(input: ActivityExecuteInput): boolean {
  const header = input.headers[DRY_RUN_HEADER];
  if (!header) return false;
  try {
    return defaultPayloadConverter.fromPayload(header) === true;
  } catch {
    // A header we cannot read is not ours: the activity runs as it would have anyway.
    return false;
  }
}

/**
 * Bookkeeping meets a store that is down (or a network that is) again and again until it is back:
 * the workflow's retry policy for it bounds the wait, not the category's attempt count, so a
 * run broken by a store outage still gets its audit row, dead letter and alert afterwards.
 */
function outlastsOutage(activityType: string, category: ErrorCategory): boolean {
  return FRAMEWORK_ACTIVITY_NAMES.has(activityType) && (category === 'database' || category === 'transient');
}

class ActivityBoundary implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly deps: Pick<ActivityDeps, 'store' | 'config'>,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const info = this.ctx.info;
    const started = performance.now();
    const meta = {
      activity: info.activityType,
      workflowId: info.workflowExecution?.workflowId,
      attempt: info.attempt,
    };
    try {
      if (readsControlsFirst(info.activityType)) {
        // Closes the gap between a kill-switch Update and the signal reaching a job.
        const controls = await readControls(this.deps.store.db);
        if (controls?.killSwitch) throw new KillSwitchActive();
      }
      const result = isDryRun(input) && !RUN_FOR_REAL_IN_DRY_RUN.has(info.activityType)
        ? await runDryRunActivity(this.deps.store, () => next(input))
        : await next(input);
      this.ctx.log.debug('activity completed', { ...meta, durationMs: Math.round(performance.now() - started) });
      return result;
    } catch (err) {
      const durationMs = Math.round(performance.now() - started);
      if (err instanceof CancelledFailure || (this.ctx.cancellationSignal.aborted && !(err instanceof OpsError))) {
        this.ctx.log.info('activity cancelled', { ...meta, durationMs });
        throw err;
      }
      if (err instanceof ApplicationFailure) throw err;
      const classified = classifyError(err);
      const policy = CATEGORY_POLICIES[classified.category];
      const retryable = outlastsOutage(info.activityType, classified.category) || mayRetry(classified.category, info.attempt, this.deps.config.retry);
      this.ctx.log.info('activity failed', {
        ...meta,
        durationMs,
        category: classified.category,
        error: classified.message,
        willRetry: retryable,
      });
      throw ApplicationFailure.create({
        type: classified.category,
        message: classified.message,
        nonRetryable: !retryable,
        nextRetryDelay: policy.honoursRetryAfter ? classified.retryAfterMs : undefined,
        details: [{ category: classified.category, attempt: info.attempt }],
        cause: err instanceof Error ? err : undefined,
      });
    }
  }
}
