/**
 * Bookkeeping activities of the job wrapper and ops-controls. They are exempt from the
 * kill-switch check: recording that a job was stopped must still happen.
 */
import type { ControlsChange, ControlsState } from '../controls-model';
import { CONTROLS_WORKFLOW_ID, CONTROLS_WORKFLOW_TYPE, jobStartedSignal, type JobInput, type JobRegistration, type JobResult } from '../definitions';
import { initialControls, mirroredControls } from '../controls-initial';
import { backoffDelayMs, CATEGORY_POLICIES, isErrorCategory, type RetrySettings } from '../policies';
import {
  consecutiveFailures,
  getDeadLetter,
  hasOpenIncident,
  insertAudit,
  insertDeadLetter,
  recordReplayOutcome,
  saveControls,
} from '../store';
import { JOB_TRAITS } from '../jobs';
import type { ActivityDeps } from './deps';
import { raiseAlert, type Notifier } from './notify';
import type { opsControls } from '../workflows/controls';

type OpsControlsWorkflow = typeof opsControls;

export interface JobSettings {
  retry: RetrySettings;
  activityTimeoutMs: number;
  heartbeatTimeoutMs: number;
  /** The jobs task queue; each source's queue is named after it. */
  taskQueue: string;
  sync: { pageTimeoutMs: number; maxPagesPerRun: number };
  /** The operator's time zone: the digest and the morning call are once per day in it. */
  timezone: string;
  messages: { sendTimeoutMs: number; digestRetryDelayMs: number; callRetryDelayMs: number };
}

/**
 * Alerts that already say a job keeps failing: a sync raises its source's own (which also counts
 * failures inside periodic_scan), so the wrapper does not add a second for the same streak.
 */
const STREAK_ALERTS = ['consecutive_failures', 'source_unreachable'];

export interface RunRecord {
  result: JobResult;
  /** The workflow type that ran the job; a replay starts the same one. */
  workflowType: string;
  input: JobInput;
  attempts?: number;
}

export interface RunRecorded {
  consecutiveFailures: number;
  deadLetterId?: number;
  alertRaised: boolean;
}

/** Releasing a source's lock is bookkeeping too: a stopped sync must not hold it. */
export const FRAMEWORK_ACTIVITY_NAMES = new Set(['joinControls', 'persistControls', 'recordRun', 'endSourceSync']);

export function createFrameworkActivities(deps: ActivityDeps, notifier: Notifier) {
  const { config, store, client, now } = deps;
  const db = store.db;

  return {
    /**
     * Registers the job for controls signals (starting ops-controls if absent), then reads the
     * controls. The order matters: a change persists its state before it fans out, so a job
     * that registered too late for the fan-out reads the new state here.
     */
    async joinControls(registration: JobRegistration): Promise<{ controls: ControlsState; settings: JobSettings }> {
      const initial = await initialControls(config, store, now());
      await client.workflow.signalWithStart<OpsControlsWorkflow, [JobRegistration]>(CONTROLS_WORKFLOW_TYPE, {
        workflowId: CONTROLS_WORKFLOW_ID,
        taskQueue: config.temporal.taskQueue,
        args: [{ state: initial }],
        signal: jobStartedSignal,
        signalArgs: [registration],
      });
      // Bounded: a reason stored before the length caps is clipped, not carried into every job's history.
      const controls = (await mirroredControls(store)) ?? initial;
      return {
        controls,
        settings: {
          retry: config.retry,
          activityTimeoutMs: config.limits.activityTimeoutMs,
          heartbeatTimeoutMs: config.limits.heartbeatTimeoutMs,
          taskQueue: config.temporal.taskQueue,
          sync: { pageTimeoutMs: config.sources.pageTimeoutMs, maxPagesPerRun: config.sources.maxPagesPerRun },
          timezone: config.timezone,
          messages: {
            sendTimeoutMs: config.comms.sendTimeoutMs,
            digestRetryDelayMs: config.comms.digest.retryDelayMs,
            callRetryDelayMs: config.comms.morningCall.retryDelayMs,
          },
        },
      };
    },

    async persistControls(args: { state: ControlsState; change: ControlsChange }): Promise<void> {
      const { actor, reason, ...change } = args.change;
      await saveControls(db, args.state as unknown as Parameters<typeof saveControls>[1], { actor, reason, change });
    },

    /** The spec's afterJobExecution: audit row, dead letter, incidents. */
    async recordRun({ result, input, attempts, workflowType }: RunRecord): Promise<RunRecorded> {
      const at = now();
      await insertAudit(db, {
        ts: at.toISOString(),
        action: result.job,
        action_type: 'system',
        success: result.outcome === 'succeeded' ? 1 : 0,
        outcome: result.outcome,
        error: result.error ?? result.reason ?? null,
        duration_ms: result.durationMs,
        input_data: JSON.stringify(input),
        output_data: result.output ? JSON.stringify(result.output) : null,
        workflow_id: result.workflowId,
        actor: input.trigger ?? 'manual',
        reason: result.reason ?? null,
      });

      let deadLetterId: number | undefined;
      if (input.replayOf !== undefined) {
        await recordReplay(deps, input, result, at);
      } else if (result.outcome === 'failed') {
        deadLetterId = await insertDeadLetter(db, {
          created_at: at.toISOString(),
          job: result.job,
          workflow_type: workflowType,
          workflow_id: result.workflowId,
          input: JSON.stringify(input),
          error: result.error ?? 'unknown error',
          category: result.category ?? 'internal',
          attempts: attempts ?? 1,
        });
        await raiseAlert(deps, notifier, {
          type: 'dead_letter',
          // A WARN waits for the digest; when the digest or the call is what failed, that is too late.
          severity: JOB_TRAITS[result.job].requiresComms ? 'SEV1' : 'WARN',
          title: `${result.job} failed and was dead-lettered (#${deadLetterId})`,
          body: `${result.category ?? 'internal'} error after ${attempts ?? 1} attempt(s): ${result.error ?? ''}`,
          job: result.job,
          relatedWorkflowId: result.workflowId,
          now: at,
        });
      }

      if (result.outcome !== 'failed') return { consecutiveFailures: 0, deadLetterId, alertRaised: false };

      let alertRaised = false;
      const category = isErrorCategory(result.category) ? result.category : 'internal';
      if (CATEGORY_POLICIES[category].alertAtOnce) {
        const raised = await raiseAlert(deps, notifier, {
          type: `${category}_failure`,
          severity: CATEGORY_POLICIES[category].alertSeverity,
          title: `${result.job}: ${category} error, not retried`,
          body: result.error ?? '',
          job: result.job,
          relatedWorkflowId: result.workflowId,
          dedupeKey: `${category}_failure:${result.job}`,
          dedupeWindowMs: 60 * 60_000,
          now: at,
        });
        alertRaised ||= raised.created;
      }
      const streak = await consecutiveFailures(db, result.job);
      if (
        streak >= config.limits.consecutiveFailuresAlert &&
        !(await hasOpenIncident(db, { types: STREAK_ALERTS, job: result.job }))
      ) {
        await raiseAlert(deps, notifier, {
          type: 'consecutive_failures',
          severity: 'WARN',
          title: `${result.job} failed ${streak} times in a row`,
          body: `Last error (${category}): ${result.error ?? ''}`,
          job: result.job,
          relatedWorkflowId: result.workflowId,
          now: at,
        });
        alertRaised = true;
      }
      return { consecutiveFailures: streak, deadLetterId, alertRaised };
    },
  };
}

async function recordReplay(deps: ActivityDeps, input: JobInput, result: JobResult, at: Date): Promise<void> {
  const letter = await getDeadLetter(deps.store.db, input.replayOf!);
  if (!letter) return;
  const automatic = input.trigger === 'retry_queue';
  const countsAsAttempt = automatic && result.outcome === 'failed';
  const attemptsAfter = letter.replay_attempts + (countsAsAttempt ? 1 : 0);
  await recordReplayOutcome(deps.store.db, letter.id, {
    succeeded: result.outcome === 'succeeded',
    error: result.error ?? result.reason,
    now: at,
    nextAttemptAt: new Date(at.getTime() + backoffDelayMs(Math.max(1, attemptsAfter), deps.config.retry)),
    exhausted: attemptsAfter >= deps.config.limits.retryQueueMaxAttempts,
    countsAsAttempt,
  });
}
