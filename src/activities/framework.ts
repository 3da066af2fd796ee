/**
 * Bookkeeping activities of the job wrapper and ops-controls. They are exempt from the
 * kill-switch check: recording that a job was stopped must still happen.
 */
import { checkControlsState, PENDING_CONTROLS_MEMO, supersedes, type ControlsChange, type ControlsState } from '../controls-model';
import { CONTROLS_WORKFLOW_ID, CONTROLS_WORKFLOW_TYPE, jobStartedSignal, type JobInput, type JobRegistration, type JobResult } from '../definitions';
import { initialControls, mirroredControls } from '../controls-initial';
import { CATEGORY_POLICIES, isErrorCategory, type RetrySettings } from '../policies';
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { StoreUnavailableError } from '../errors';
import {
  consecutiveFailures,
  findDeadLetterOfRun,
  findIncidentByKey,
  getIncident,
  findRunAudit,
  hasOpenIncident,
  insertAudit,
  insertDeadLetter,
  raiseIncident,
  saveControls,
  withStoreWaitLimit,
  writeTransaction,
  type Database,
  type NewIncident,
} from '../store';
import { recordReplayResult } from '../store/dead-letters';
import { jobTraits } from '../jobs';
import type { ActivityDeps } from './deps';
import { alertFor, type Notifier } from './notify';
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

/** How long a joining job waits for the describe of ops-controls (the server answers in milliseconds). */
const CONTROLS_DESCRIBE_DEADLINE_MS = 2000;

/** How long one controls mirror write waits for a locked store before it fails (and is refused or retried). */
const CONTROLS_STORE_WAIT_MS = 2000;

/** Releasing a source's lock is bookkeeping too: a stopped sync must not hold it. */
export const FRAMEWORK_ACTIVITY_NAMES = new Set(['joinControls', 'persistControls', 'recordRun', 'endSourceSync', 'releaseDeadLetters']);

export function createFrameworkActivities(deps: ActivityDeps, notifier: Notifier) {
  const { config, store, client, now } = deps;
  const db = store.db;

  /** The state ops-controls' memo holds while the mirror is behind it; undefined when it is not (or cannot be read). */
  async function controlsAheadOfMirror(): Promise<ControlsState | undefined> {
    try {
      const described = await client.connection.withDeadline(Date.now() + CONTROLS_DESCRIBE_DEADLINE_MS, () =>
        client.workflow.getHandle(CONTROLS_WORKFLOW_ID).describe(),
      );
      const memo = described.memo?.[PENDING_CONTROLS_MEMO];
      if (memo === undefined || memo === null) return undefined;
      const checked = checkControlsState(memo);
      if (checked.ok) return checked.value;
      deps.logger.warn({ error: checked.error }, 'ops-controls memo ignored: not a controls state');
    } catch (err) {
      // The mirror is still read, and ops-controls signals a joining job while its mirror is behind.
      deps.logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'could not describe ops-controls: the job starts from the store mirror');
    }
    return undefined;
  }

  return {
    /**
     * Registers the job for controls signals (starting ops-controls if absent), then reads the
     * controls. The order matters: every change made after the registration reaches the job by
     * signal, and one made before it is in what the job reads here: the store mirror, unless
     * ops-controls applied a stricter change the store has not taken yet (an outage). Then its
     * memo holds the state in effect, read here with a describe (the server answers it alone; a
     * query, which waits for ops-controls' workflow task, cut the no-op job throughput by two
     * thirds under load). The stricter or newer of the two wins (controls-model supersedes).
     * ops-controls also signals the state to every job that registers while the mirror is behind,
     * which covers a job that joins while the change is being applied.
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
      const [mirrored, ahead] = await Promise.all([
        // Bounded: a reason stored before the length caps is clipped, not carried into every job's history.
        mirroredControls(store),
        controlsAheadOfMirror(),
      ]);
      const fromStore = mirrored ?? initial;
      const controls = ahead && supersedes(fromStore, ahead) ? ahead : fromStore;
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

    /**
     * Writes the mirror and the change's audit row, or fails at once: one bounded wait for the
     * store (busy.ts), no retries here. ops-controls decides what a failure means: a loosening
     * change is refused, a stricter one takes effect and this is retried by the workflow.
     */
    async persistControls(args: { state: ControlsState; change: ControlsChange }): Promise<void> {
      const { actor, reason, ...change } = args.change;
      const state = args.state as unknown as Parameters<typeof saveControls>[1];
      try {
        // Well inside a workflow task's 5 s (this is a local activity of the Update's task). The
        // wait limit bounds a lock wait; a PostgreSQL that never answers a connect is bounded here.
        await answerWithin(CONTROLS_STORE_WAIT_MS + 500, () =>
          withStoreWaitLimit(CONTROLS_STORE_WAIT_MS, async () => {
            // An earlier try that was given up on may have landed after all: one audit row per change.
            if (await controlsChangeAudited(db, args.state)) return;
            await saveControls(db, state, { actor, reason, change });
          }),
        );
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        throw ApplicationFailure.create({ type: 'database', nonRetryable: true, message: err.message, cause: err });
      }
    },

    /**
     * The spec's afterJobExecution: audit row, dead letter, incidents. Retried until the store
     * answers (a store outage must not lose the record of the runs it broke), so every step is
     * idempotent per run: the rows are written once in one transaction, and each alert has a
     * dedupe key of its own and is handed to the router again if a retry finds it raised.
     */
    async recordRun({ result, input, attempts, workflowType }: RunRecord): Promise<RunRecorded> {
      const at = now();
      const { deadLetterId } = await writeTransaction(db, (tx) => recordRunRows(tx, deps, { result, input, attempts, workflowType }, at));

      if (deadLetterId !== undefined) {
        await raiseAlertOnce(deps, notifier, {
          type: 'dead_letter',
          // A WARN waits for the digest; when the digest or the call is what failed, that is too late.
          severity: jobTraits(result.job).requiresComms ? 'SEV1' : 'WARN',
          title: `${result.job} failed and was dead-lettered (#${deadLetterId})`,
          body: `${result.category ?? 'internal'} error after ${attempts ?? 1} attempt(s): ${result.error ?? ''}`,
          job: result.job,
          relatedWorkflowId: result.workflowId,
          dedupeKey: `dead_letter:${deadLetterId}`,
          dedupeWindowMs: ONCE_PER_RUN_MS,
          now: at,
        });
      }

      if (result.outcome !== 'failed') return { consecutiveFailures: 0, deadLetterId, alertRaised: false };

      let alertRaised = false;
      const category = isErrorCategory(result.category) ? result.category : 'internal';
      if (CATEGORY_POLICIES[category].alertAtOnce) {
        const raised = await raiseAlertOnce(deps, notifier, {
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
      // This run's own streak alert, if an earlier try of this activity raised it already. Keyed by
      // the Temporal run: a workflow id may be used again by a later run with a streak of its own.
      const streakKey = `consecutive_failures:${callerRunId() ?? result.workflowId}`;
      if (
        streak >= config.limits.consecutiveFailuresAlert &&
        ((await findIncidentByKey(db, streakKey)) !== undefined ||
          !(await hasOpenIncident(db, { types: STREAK_ALERTS, job: result.job })))
      ) {
        await raiseAlertOnce(deps, notifier, {
          type: 'consecutive_failures',
          severity: 'WARN',
          title: `${result.job} failed ${streak} times in a row`,
          body: `Last error (${category}): ${result.error ?? ''}`,
          job: result.job,
          relatedWorkflowId: result.workflowId,
          dedupeKey: streakKey,
          dedupeWindowMs: ONCE_PER_RUN_MS,
          now: at,
        });
        alertRaised = true;
      }
      return { consecutiveFailures: streak, deadLetterId, alertRaised };
    },
  };
}

/** Whether the audit row of the change that made `state` is in the store (the row holds the state as written). */
async function controlsChangeAudited(db: Kysely<Database>, state: ControlsState): Promise<boolean> {
  const row = await db
    .selectFrom('agent_audit_log')
    .select('id')
    .where('action', '=', 'controls.update')
    .where('ts', '=', state.updatedAt)
    .where('output_data', '=', JSON.stringify(state))
    .executeTakeFirst();
  return row !== undefined;
}

/** `work`'s answer, or a StoreUnavailableError once `ms` have passed (the work itself is left to finish or fail). */
async function answerWithin<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StoreUnavailableError(`no answer from the store within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The Temporal run recordRun was called for: a workflow id can be used by more than one run. */
function callerRunId(): string | undefined {
  try {
    return activityInfo().workflowExecution?.runId;
  } catch {
    // Called outside an activity (a script, a test): no run to key on.
    return undefined;
  }
}

/** A dedupe window that outlasts any retry of one run's bookkeeping. */
const ONCE_PER_RUN_MS = 30 * 24 * 3600_000;

/**
 * raiseIncident, then the alert through the router; also when this run raised the incident
 * already, since an earlier try may have lost the store before handing it to the router. Handing
 * it over twice sends nothing twice: the router keys the message on the incident id.
 */
async function raiseAlertOnce(deps: ActivityDeps, notifier: Notifier, incident: NewIncident): Promise<{ created: boolean; id: number }> {
  const raised = await raiseIncident(deps.store.db, incident);
  const ours = raised.created || (await getIncident(deps.store.db, raised.id))?.related_workflow_id === incident.relatedWorkflowId;
  if (ours) await alertFor(deps, notifier, raised.id, incident);
  return raised;
}

/**
 * The run's audit row and its dead letter (or the outcome of the replay it was), written once:
 * a retry that finds the run's audit row changes nothing and returns the same dead letter.
 */
async function recordRunRows(tx: Kysely<Database>, deps: ActivityDeps, run: RunRecord, at: Date): Promise<{ deadLetterId?: number }> {
  const { result, input, attempts, workflowType } = run;
  const runId = callerRunId();
  const recorded = runId === undefined ? undefined : await findRunAudit(tx, result.job, runId);
  if (recorded) {
    const letter = await findDeadLetterOfRun(tx, { job: result.job, workflowId: result.workflowId, at: recorded.ts });
    return { deadLetterId: letter?.id };
  }
  await insertAudit(tx, {
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
    run_id: runId ?? null,
  });
  if (input.replayOf !== undefined) {
    await recordReplay(tx, deps, input, result, at);
    return {};
  }
  if (result.outcome !== 'failed') return {};
  const deadLetterId = await insertDeadLetter(tx, {
    created_at: at.toISOString(),
    job: result.job,
    workflow_type: workflowType,
    workflow_id: result.workflowId,
    input: JSON.stringify(input),
    error: result.error ?? 'unknown error',
    category: result.category ?? 'internal',
    attempts: attempts ?? 1,
  });
  return { deadLetterId };
}

async function recordReplay(tx: Kysely<Database>, deps: ActivityDeps, input: JobInput, result: JobResult, at: Date): Promise<void> {
  // What each outcome (and each skip reason) means for the letter is decided in the store module.
  await recordReplayResult(tx, input.replayOf!, {
    outcome: result.outcome,
    error: result.error,
    reason: result.reason,
    workflowId: result.workflowId,
    automatic: input.trigger === 'retry_queue',
    now: at,
    retry: deps.config.retry,
    maxAttempts: deps.config.limits.retryQueueMaxAttempts,
  });
}
