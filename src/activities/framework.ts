/**
 * Bookkeeping activities of the job wrapper and ops-controls. They are exempt from the
 * kill-switch check: recording that a job was stopped must still happen.
 */
import { checkControlsState, PENDING_CONTROLS_MEMO, supersedes, type ControlsChange, type ControlsState } from '../controls-model';
import { CONTROLS_WORKFLOW_ID, CONTROLS_WORKFLOW_TYPE, jobsEndedSignal, jobStartedSignal, type JobInput, type JobRegistration, type JobResult } from '../definitions';
import { configuredControls, initialControls, mirroredControls } from '../controls-initial';
import {
  CATEGORY_POLICIES,
  ERROR_CATEGORIES,
  failureSeverity,
  isErrorCategory,
  JOB_FAILURE_SEVERITY,
  type RetrySettings,
  type Severity,
} from '../policies';
import { activityInfo } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { StoreUnavailableError } from '../errors';
import {
  consecutiveFailures,
  findDeadLetterOfRun,
  findRunAudit,
  hasOpenIncident,
  insertAudit,
  insertDeadLetter,
  listOpenIncidents,
  reportIncidentIn,
  resolveSubjectIncidents,
  saveControls,
  withStoreWaitLimit,
  worseSeverity,
  writeTransaction,
  type Database,
  type IncidentRaised,
  type IncidentReport,
} from '../store';
import { recordReplayResult } from '../store/dead-letters';
import type { ActivityDeps } from './deps';
import { EndedRuns } from './jobs-ended';
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


export interface RunRecord {
  result: JobResult;
  /** The workflow type that ran the job; a replay starts the same one. */
  workflowType: string;
  input: JobInput;
  attempts?: number;
  /**
   * The operator was already alerted straight through a channel (the store was down when the run
   * failed): the run's incidents are recorded, but their SEV0/SEV1 alerts are not sent a second time.
   */
  alertedDirectly?: boolean;
  /** Tell ops-controls the run ended (jobsEnded) once it is recorded: the job sends no signal of its own. */
  signalEnded?: boolean;
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
      // The service call itself: the handle's describe decodes every field, and only this one is read.
      const described = await client.connection.withDeadline(Date.now() + CONTROLS_DESCRIBE_DEADLINE_MS, () =>
        client.workflowService.describeWorkflowExecution({ namespace: client.options.namespace, execution: { workflowId: CONTROLS_WORKFLOW_ID } }),
      );
      const field = described.workflowExecutionInfo?.memo?.fields?.[PENDING_CONTROLS_MEMO];
      const memo = field ? defaultPayloadConverter.fromPayload(field) : undefined;
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

  /**
   * Takes runs off ops-controls' fan-out list. Best effort: a lost one only means one signal too
   * many at the next change, which finds the run ended and drops it from the list then.
   */
  const endedRuns = new EndedRuns(async (workflowIds) => {
    try {
      await client.connection.withDeadline(Date.now() + CONTROLS_DESCRIBE_DEADLINE_MS, () =>
        client.workflow.getHandle(CONTROLS_WORKFLOW_ID).signal(jobsEndedSignal, workflowIds),
      );
    } catch (err) {
      deps.logger.debug({ runs: workflowIds.length, error: err instanceof Error ? err.message : String(err) }, 'jobsEnded signal not sent');
    }
  });

  /**
   * Signals the registration; only when ops-controls is not running is it started with it, from
   * the store's mirror (so the common case reads no state it does not need).
   */
  async function register(registration: JobRegistration): Promise<void> {
    try {
      await client.workflow.getHandle(CONTROLS_WORKFLOW_ID).signal(jobStartedSignal, registration);
      return;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    await client.workflow.signalWithStart<OpsControlsWorkflow, [JobRegistration]>(CONTROLS_WORKFLOW_TYPE, {
      workflowId: CONTROLS_WORKFLOW_ID,
      taskQueue: config.temporal.taskQueue,
      args: [{ state: await initialControls(config, store, now()) }],
      signal: jobStartedSignal,
      signalArgs: [registration],
    });
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
      await register(registration);
      const [mirrored, ahead] = await Promise.all([
        // Bounded: a reason stored before the length caps is clipped, not carried into every job's history.
        mirroredControls(store),
        controlsAheadOfMirror(),
      ]);
      const fromStore = mirrored ?? configuredControls(config, now());
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
     * idempotent per run: the rows and the run's incident occurrences are written once, in one
     * transaction; a retry finds them and only hands the alerts to the router again (which sends
     * each once, keyed on the incident).
     */
    async recordRun(run: RunRecord): Promise<RunRecorded> {
      const { result } = run;
      const at = now();
      if (run.input.dryRun === true) {
        await recordDryRun(db, run, at);
        if (run.signalEnded === true) await endedRuns.ended(result.workflowId);
        return { consecutiveFailures: 0, alertRaised: false };
      }
      const recorded = await writeTransaction(db, async (tx) => {
        const rows = await recordRunRows(tx, deps, run, at);
        const raised = await reportRunIncidents(tx, deps, run, rows, at);
        return { ...rows, ...raised };
      });
      for (const { report, raised } of recorded.raised) {
        const sentAlready = run.alertedDirectly === true && (raised.severity === 'SEV0' || raised.severity === 'SEV1');
        if (raised.alert && !sentAlready) await alertFor(deps, notifier, raised.id, { ...report, severity: raised.severity });
      }
      if (result.outcome === 'succeeded') await resolveJobIncidents(db, result.job, `${result.job} succeeded (${result.workflowId})`, at);
      if (run.signalEnded === true) await endedRuns.ended(result.workflowId);
      return {
        consecutiveFailures: recorded.streak,
        deadLetterId: recorded.deadLetterId,
        alertRaised: recorded.raised.some((r) => r.raised.alert),
      };
    },
  };
}

/** The audit action of a dry run: never the job's own, so no streak, resolver or watcher counts it. */
export function dryRunAction(job: string): string {
  return `${job}.dry_run`;
}

/**
 * A dry run's one record: its audit row (action `<job>.dry_run`, type dry_run, no outcome column so
 * no report counts it as a run; the outcome and the report are in its output). No dead letter, no
 * incident, no resolution: nothing of a dry run may change what the real runs are judged by.
 */
async function recordDryRun(db: Kysely<Database>, run: RunRecord, at: Date): Promise<void> {
  const { result, input } = run;
  const runId = callerRunId();
  if (runId !== undefined) {
    const recorded = await db
      .selectFrom('agent_audit_log')
      .select('id')
      .where('run_id', '=', runId)
      .where('action', '=', dryRunAction(result.job))
      .executeTakeFirst();
    if (recorded) return;
  }
  await insertAudit(db, {
    ts: at.toISOString(),
    action: dryRunAction(result.job),
    action_type: 'dry_run',
    success: result.outcome === 'failed' ? 0 : 1,
    outcome: null,
    error: result.error ?? null,
    duration_ms: result.durationMs,
    input_data: JSON.stringify(input),
    output_data: JSON.stringify({ outcome: result.outcome, reason: result.reason ?? null, output: result.output ?? null }),
    workflow_id: result.workflowId,
    actor: input.trigger ?? 'manual',
    reason: `dry run (${result.outcome}${result.reason ? `: ${result.reason}` : ''})`.slice(0, 1000),
    run_id: runId ?? null,
  });
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

interface RunRows {
  deadLetterId?: number;
  /** This try wrote the run's rows (false: an earlier try did, and counted its incidents). */
  fresh: boolean;
}

interface RunIncident {
  report: IncidentReport;
  raised: IncidentRaised;
}

/** Every incident type a job's failed runs report under its name (subject = the job). */
export const JOB_INCIDENT_TYPES: readonly string[] = ['dead_letter', 'consecutive_failures', ...ERROR_CATEGORIES.map((c) => `${c}_failure`)];

/**
 * The failed run's incidents, through the lifecycle: one open incident per (type, job), a
 * recurrence counted on it. Severities come from the category's policy (the spec's error table)
 * and the job's own (JOB_FAILURE_SEVERITY). Runs in the transaction that wrote the run's rows, so
 * a run's occurrences are counted exactly once; a retry reports again only to learn which
 * alerts to hand to the router (the lifecycle does not count the same run twice).
 */
async function reportRunIncidents(
  tx: Kysely<Database>,
  deps: ActivityDeps,
  run: RunRecord,
  rows: RunRows,
  at: Date,
): Promise<{ streak: number; raised: RunIncident[] }> {
  const { result } = run;
  if (result.outcome !== 'failed') return { streak: 0, raised: [] };
  const job = result.job;
  const category = isErrorCategory(result.category) ? result.category : 'internal';
  const streak = await consecutiveFailures(tx, job);
  const atLeast = (severity: Severity): Severity => {
    const floor = JOB_FAILURE_SEVERITY[job];
    return floor ? worseSeverity(floor, severity) : severity;
  };
  const common = { subject: job, job, relatedWorkflowId: result.workflowId, now: at };
  const reports: IncidentReport[] = [];
  if (rows.deadLetterId !== undefined) {
    reports.push({
      ...common,
      type: 'dead_letter',
      severity: atLeast(failureSeverity(category, streak)),
      title: `${job} failed and was dead-lettered (#${rows.deadLetterId})`,
      body: `${category} error after ${run.attempts ?? 1} attempt(s): ${result.error ?? ''}`,
    });
  }
  const policy = CATEGORY_POLICIES[category];
  const categoryType = `${category}_failure`;
  // A sync reported this run's failure on its source already (endSourceSync): not a second one.
  if (policy.alertAtOnce && !(await reportedOnSource(tx, categoryType, result.workflowId))) {
    reports.push({
      ...common,
      type: categoryType,
      severity: atLeast(policy.severity.first),
      title: `${job}: ${category} error, not retried`,
      body: result.error ?? '',
    });
  }
  // A sync's own streak alert (source_unreachable) already says the job keeps failing.
  if (streak >= deps.config.limits.consecutiveFailuresAlert && !(await hasOpenIncident(tx, { types: ['source_unreachable'], job }))) {
    reports.push({
      ...common,
      type: 'consecutive_failures',
      severity: atLeast('WARN'),
      title: `${job} failed ${streak} times in a row`,
      body: `Last error (${category}): ${result.error ?? ''}`,
    });
  }
  const raised: RunIncident[] = [];
  for (const report of reports) raised.push({ report, raised: await reportOccurrence(tx, report, rows.fresh) });
  return { streak, raised };
}

/**
 * reportIncidentIn for a run whose rows this try wrote (`fresh`): its occurrence is new even when
 * the open incident names the same workflow id (a later run under a reused id), so it is counted.
 */
async function reportOccurrence(tx: Kysely<Database>, report: IncidentReport, fresh: boolean): Promise<IncidentRaised> {
  if (fresh && report.relatedWorkflowId !== undefined) {
    const [open] = await listOpenIncidents(tx, { type: report.type, subject: report.subject, limit: 1 });
    // The open incident keeps that workflow id: leaving it out changes only the counting.
    if (open?.related_workflow_id === report.relatedWorkflowId) return reportIncidentIn(tx, { ...report, relatedWorkflowId: undefined });
  }
  return reportIncidentIn(tx, report);
}

/** Whether a sync of this run reported `type` on a source (subject `source:<name>`). */
async function reportedOnSource(tx: Kysely<Database>, type: string, workflowId: string): Promise<boolean> {
  const row = await tx
    .selectFrom('incidents')
    .select('id')
    .where('type', '=', type)
    .where('status', '=', 'open')
    .where('related_workflow_id', '=', workflowId)
    .where('subject', 'like', 'source:%')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** A success ends the job's failure incidents (its streak, its category failures, its dead letters). */
async function resolveJobIncidents(db: Kysely<Database>, job: string, reason: string, at: Date): Promise<void> {
  await resolveSubjectIncidents(db, { subject: job, types: JOB_INCIDENT_TYPES }, { actor: 'system', reason, now: at });
}

/**
 * The run's audit row and its dead letter (or the outcome of the replay it was), written once:
 * a retry that finds the run's audit row changes nothing and returns the same dead letter.
 */
async function recordRunRows(tx: Kysely<Database>, deps: ActivityDeps, run: RunRecord, at: Date): Promise<RunRows> {
  const { result, input, attempts, workflowType } = run;
  const runId = callerRunId();
  const recorded = runId === undefined ? undefined : await findRunAudit(tx, result.job, runId);
  if (recorded) {
    const letter = await findDeadLetterOfRun(tx, { job: result.job, workflowId: result.workflowId, at: recorded.ts });
    return { deadLetterId: letter?.id, fresh: false };
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
    return { fresh: true };
  }
  if (result.outcome !== 'failed') return { fresh: true };
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
  return { deadLetterId, fresh: true };
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
