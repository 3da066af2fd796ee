/**
 * The typed client for programs: jobs, controls, schedules, dead letters, audit and incidents.
 * opsctl is a thin layer over it.
 */
import {
  Client,
  Connection,
  ScheduleNotFoundError,
  WorkflowFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'kysely';
import type { Config } from './config';
import { missingSourceSettings, sqlitePath } from './config';
import { SOURCE_NAMES, type SourceName } from './sources';
import { existsSync } from 'node:fs';
import { clip, controlsSchemas, describeIssues, escapeUnprintable, hasUnprintable, parseControlsChange, type ControlsChange, type ControlsState, type ControlsView } from './controls-model';
import { initialControls } from './controls-initial';
import { StoreUnavailableError } from './errors';
import {
  CONTROLS_WORKFLOW_ID,
  CONTROLS_WORKFLOW_TYPE,
  JOB_SEARCH_ATTRIBUTE,
  getControlsQuery,
  jobProgressQuery,
  setControlsUpdate,
  type JobInput,
  type JobProgress,
  type JobResult,
} from './definitions';
import { isJobName, JOB_NAMES, type JobName } from './jobs';
import { InvalidJobParams, parseJobParams } from './job-params';
import { reconcileSchedules, type ReconcileReport } from './schedules/reconcile';
import { cadenceOfSpec, overrideOf, type CadenceOverride } from './schedules/override';
import { CadenceChangeRefused, changeScheduleCadence } from './schedules/set-cadence';
import { cadenceProblem, describeCadence, resolveSchedules, sameCadence, type Cadence } from './schedules/table';
import type { Logger } from './logger';
import { temporalConnectionOptions } from './temporal/connection';
import { createMessageActivities, type CallPreview, type DigestPreview } from './activities/messages';
import { createNotifier } from './activities/notify';
import { configuredChannels } from './activities/channels';
import { localDay } from './notifications/local-day';
import { createLogger } from './logger';
import {
  addToAllowlist,
  countNotifications,
  listAllowlist,
  listNotifications,
  removeFromAllowlist,
  type AddressKind,
  type AllowlistRow,
  type NotificationStatus,
  getDeadLetter,
  getIncident as getIncidentRow,
  insertAudit,
  listAudit,
  listSourceSync,
  listDeadLetters,
  acknowledgeIncident,
  resolveIncidentBy,
  openIncidentCounts,
  incidentState,
  IncidentStateError,
  INCIDENT_LIMITS,
  type IncidentRow,
  type IncidentState,
  type Severity,
  markReplayStarted,
  migrateToLatest,
  openStore,
  pendingMigrations,
  type Store,
} from './store';
import type { opsControls } from './workflows/controls';
import { describeAction, proposalActionSchema, type ProposalAction } from './proposal-actions';
import { startApplyProposal } from './proposal-apply-start';
import { decideProposal, getProposal, ProposalStateError, type EvidenceRef, type ProposalRow } from './store/proposals';
import { PROPOSAL_STATUSES, type ProposalStatus } from './store/schema';
import { correctMemoryItem, listMemoryItems, MemoryCorrectionError, type MemoryItemRow } from './store/memory';
import type { ApplyProposalResult } from './workflows/apply-proposal';

export class OpsClientError extends Error {
  override readonly name: string = 'OpsClientError';
}

/** Who did an operator action, and why: both required, one printable line, length-capped. */
export interface Who {
  actor: string;
  reason: string;
}

// The controls' own actor and reason rules, so every operator action is held to the same ones.
const whoSchema = controlsSchemas().controlsChange.pick({ actor: true, reason: true });

/** Who or what an allowlisted address is: a name, not a document. */
export const ALLOWLIST_LABEL_MAX_LENGTH = 100;

export function parseLabel(label: string): string {
  if (label.length > ALLOWLIST_LABEL_MAX_LENGTH) throw new OpsClientError(`label: at most ${ALLOWLIST_LABEL_MAX_LENGTH} characters`);
  if (hasUnprintable(label)) throw new OpsClientError('label: one line of printable text (no control characters)');
  return label;
}

export function parseWho(input: unknown): Who {
  const parsed = whoSchema.safeParse(input);
  if (!parsed.success) throw new OpsClientError(`Invalid actor or reason: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/**
 * read: the command only reads. It never migrates (a migration takes the write lock and changes
 * the schema under whoever else runs), and a store whose schema is behind is refused by name.
 * write: the command changes something; a store that is behind is migrated first, as npm start does.
 * controls: a controls change, which ops-controls (not this process) stores. It must work during a
 * store outage, when ops-controls applies a stricter change (kill on) before the store has it and
 * refuses a looser one, so a store that cannot be reached now does not stop it here.
 */
export type StoreAccess = 'read' | 'write' | 'controls';

/** What an operator can do to a schedule; each one is audited as `schedules.<action>`. */
export type ScheduleAction = 'pause' | 'resume' | 'trigger';

/** Connecting failed; `target` says which side. */
export class OpsConnectError extends Error {
  override readonly name = 'OpsConnectError';
  constructor(
    message: string,
    readonly target: 'temporal' | 'store',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Where the cadence in effect comes from, lowest precedence first: the job catalogue (src/jobs.ts),
 * config (jobs.<job>.every / at), or a run-time override (`opsctl schedules set`, or an approved
 * set_cadence proposal), which lasts until cleared or until the config changes that job's cadence.
 */
export type CadenceSource = 'catalogue' | 'config' | 'override' | 'proposal';

export interface ScheduleStatus {
  job: JobName;
  /** The cadence in effect: what the Temporal Schedule runs. */
  cadence: string;
  source: CadenceSource;
  /** What config (or the catalogue) says; the one `opsctl schedules set JOB --default` returns to. */
  configured: string;
  /** Who set the run-time cadence in effect, when, why (source override or proposal). */
  override?: CadenceOverride;
  exists: boolean;
  paused: boolean;
  note?: string;
  nextRunTimes: string[];
  lastRun?: { at: string; outcome: string | null; workflowId: string | null; error: string | null };
}

export interface SystemStatus {
  controls?: ControlsView;
  temporal: { ok: boolean; address: string; namespace: string; error?: string };
  store: { ok: boolean; dialect: string; error?: string };
  schedules: ScheduleStatus[];
  sources: SourceStatus[];
  comms?: CommsStatus;
  /** Incidents not resolved yet, per severity (absent when the store cannot be read). */
  incidents?: IncidentCounts;
}

/** Per severity: `open` (nobody has acknowledged it yet) and `acknowledged` (known, not resolved). */
export type IncidentCounts = Record<Severity, { open: number; acknowledged: number }>;

/** An incident as the client hands it out: its row, and its state in the lifecycle. */
export type IncidentView = IncidentRow & { state: IncidentState };

export const INCIDENT_STATES: readonly IncidentState[] = ['open', 'acknowledged', 'resolved'];

export interface IncidentQuery {
  /** Which states to list; default the ones not resolved (open and acknowledged). */
  states?: readonly IncidentState[];
  /** Only this type (e.g. dead_letter, consecutive_failures). */
  type?: string;
  /** At most this many (1 to INCIDENT_LIST_MAX; default 50). */
  limit?: number;
}

export const INCIDENT_LIST_DEFAULT = 50;
export const INCIDENT_LIST_MAX = 1000;

/** Incident types are identifiers (dead_letter, watcher.rate_limit, ...), never free text. */
const INCIDENT_TYPE = /^[A-Za-z0-9_.:-]+$/;

/**
 * An incident that cannot take the change asked for: no such id, or already in that state (or
 * resolved). Nothing was changed.
 */
export class IncidentChangeRefused extends OpsClientError {
  override readonly name = 'IncidentChangeRefused';
}

/** Where messages can go: configured providers (console when none), allowlisted addresses, held alerts. */
export interface CommsStatus {
  channels: string[];
  allowlisted: number;
  held: number;
}

/** A data source as opsctl status shows it: configured or not, its last sync, its cursor. */
export interface SourceStatus {
  source: SourceName;
  configured: boolean;
  /** The settings it lacks, when not configured. */
  missing?: string;
  /** running: a sync holds it now. */
  state: 'idle' | 'running';
  lastSyncAt: string | null;
  lastOutcome: string | null;
  /** Items and pages of the last completed sync. */
  items: number;
  pages: number;
  /** An unfinished run's progress and cursor; the next run resumes there. */
  cursor: unknown;
  pending: { pages: number; items: number } | null;
  consecutiveFailures: number;
  lastError: string | null;
  lockedBy: string | null;
}

export function manualWorkflowId(job: JobName, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 15);
  return `${job}-manual-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

/** A proposal as the client hands it out: its action and evidence read, and its state now. */
export interface ProposalView extends Omit<ProposalRow, 'action' | 'evidence'> {
  /** The status, except that a pending one past its time reads `expired` before the sweep marks it. */
  state: ProposalStatus;
  /** null when the stored action fails its schema (it is never carried out then). */
  action: ProposalAction | null;
  /** What approving it does, in one line. */
  does: string;
  evidence: EvidenceRef[];
}

export interface ProposalQuery {
  /** Default pending (and not yet past its time). */
  status?: ProposalStatus;
  /** 1 to PROPOSAL_LIST_MAX; default PROPOSAL_LIST_DEFAULT. */
  limit?: number;
}

export const PROPOSAL_LIST_DEFAULT = 50;
export const PROPOSAL_LIST_MAX = 1000;

/** A proposal that cannot take the decision: no such id, not pending, or expired. Nothing was changed. */
export class ProposalChangeRefused extends OpsClientError {
  override readonly name = 'ProposalChangeRefused';
}

/** How an apply workflow ended, as `opsctl proposals approve --wait` prints it. */
export interface ProposalApplyOutcome {
  workflowId: string;
  outcome: 'applied' | 'failed';
  result?: string;
  error?: string;
  proposal: ProposalView;
}

/** A memory item and its history (oldest first), as `opsctl memory show` prints it. */
export interface MemoryItemHistory {
  key: string;
  current: MemoryItemRow | undefined;
  history: MemoryItemRow[];
}

/** What a person may correct a memory item to: bounded so one command cannot bloat the store. */
export const MEMORY_VALUE_MAX_LENGTH = 10_000;
export const MEMORY_KEY_MAX_LENGTH = 300;

export class OpsClient {
  constructor(
    readonly temporal: Client,
    readonly store: Store,
    readonly config: Config,
    /** What close() closes: only what this client opened itself. */
    private readonly owned: { connection?: Connection; store?: boolean } = {},
    /** The migrations connect() applied (a writer finding the store behind). */
    readonly migrated: readonly string[] = [],
  ) {}

  /**
   * Temporal first: with Temporal down, nothing (not even a SQLite file) is created.
   * `access` (default write) says whether the caller may migrate the store; see StoreAccess.
   */
  static async connect(config: Config, options: { access?: StoreAccess } = {}): Promise<OpsClient> {
    const access = options.access ?? 'write';
    const connection = await Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: '5s' }).catch(
      (err: unknown) => {
        throw new OpsConnectError(`Temporal at ${config.temporal.address}: ${(err as Error).message}`, 'temporal', { cause: err });
      },
    );
    let store: Store | undefined;
    let migrated: string[];
    try {
      // Opening SQLite creates the file; a read-only command must not leave an empty store behind.
      if (access === 'read' && !config.databaseUrl && !existsSync(sqlitePath(config))) {
        throw new Error(`no store here yet; run \`npm start\` or \`opsctl migrate\` to create it`);
      }
      store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: sqlitePath(config) });
      migrated = await bringSchemaUpToDate(store, access === 'read' ? 'read' : 'write').catch((err: unknown) => {
        if (access === 'controls' && err instanceof StoreUnavailableError) return [];
        throw err;
      });
    } catch (err) {
      await store?.close().catch(() => undefined);
      await connection.close();
      throw new OpsConnectError(`store: ${(err as Error).message}`, 'store', { cause: err });
    }
    return new OpsClient(new Client({ connection, namespace: config.temporal.namespace }), store, config, { connection, store: true }, migrated);
  }

  async close(): Promise<void> {
    if (this.owned.store) await this.store.close();
    await this.owned.connection?.close();
  }

  // ---- controls ----

  /**
   * Starts ops-controls if it is not running (idempotent). Its first state is the store mirror;
   * with the store unavailable it is not started (a start from the configured defaults could turn
   * a kill switch off): a running one takes the change, else the Update fails naming the workflow.
   */
  async ensureControls(): Promise<void> {
    let state: ControlsState;
    try {
      state = await initialControls(this.config, this.store, new Date());
    } catch (err) {
      if (err instanceof StoreUnavailableError) return;
      throw err;
    }
    await this.temporal.workflow.start<typeof opsControls>(CONTROLS_WORKFLOW_TYPE, {
      workflowId: CONTROLS_WORKFLOW_ID,
      taskQueue: this.config.temporal.taskQueue,
      args: [{ state }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }

  async getControls(): Promise<ControlsView> {
    await this.ensureControls();
    return this.controlsHandle().query(getControlsQuery);
  }

  /** Validates locally first, so a bad change fails with a clear message before reaching Temporal. */
  async changeControls(change: ControlsChange): Promise<ControlsView> {
    const parsed = parseControlsChange(change);
    await this.ensureControls();
    return this.controlsHandle().executeUpdate(setControlsUpdate, { args: [parsed] });
  }

  setKillSwitch(on: boolean, who: { actor: string; reason: string }): Promise<ControlsView> {
    return this.changeControls({ killSwitch: on, ...who });
  }

  private controlsHandle(): WorkflowHandle<typeof opsControls> {
    return this.temporal.workflow.getHandle(CONTROLS_WORKFLOW_ID);
  }

  // ---- jobs ----

  /** Params are checked against what the job declares (job-params.ts); unknown ones are refused. */
  async startJob(job: string, input: JobInput = {}, workflowId?: string): Promise<{ job: JobName; workflowId: string }> {
    const name = requireJob(job);
    const checked: JobInput = { ...input };
    if (input.params !== undefined) {
      try {
        checked.params = parseJobParams(name, input.params);
      } catch (err) {
        if (err instanceof InvalidJobParams) throw new OpsClientError(err.message);
        throw err;
      }
    }
    const id = workflowId ?? manualWorkflowId(name);
    await this.temporal.workflow.start(name, {
      workflowId: id,
      taskQueue: this.config.temporal.taskQueue,
      args: [{ trigger: 'manual', ...checked }],
      typedSearchAttributes: [{ key: JOB_SEARCH_ATTRIBUTE, value: name }],
    });
    return { job: name, workflowId: id };
  }

  /** The JobResult of a run, waiting for it to end. A failed run's result comes from its failure. */
  async jobResult(workflowId: string): Promise<JobResult> {
    try {
      return await this.temporal.workflow.getHandle(workflowId).result();
    } catch (err) {
      if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure && err.cause.type === 'JobFailed') {
        return err.cause.details?.[0] as JobResult;
      }
      throw err;
    }
  }

  async runJob(job: string, input: JobInput = {}): Promise<JobResult> {
    const { workflowId } = await this.startJob(job, input);
    return this.jobResult(workflowId);
  }

  async jobProgress(workflowId: string): Promise<JobProgress | undefined> {
    try {
      return await this.temporal.workflow.getHandle(workflowId).query(jobProgressQuery);
    } catch {
      return undefined;
    }
  }

  // ---- schedules ----

  reconcileSchedules(logger: Logger): Promise<ReconcileReport> {
    return reconcileSchedules(this.temporal, this.config, logger);
  }

  async listSchedules(): Promise<ScheduleStatus[]> {
    return Promise.all(
      resolveSchedules(this.config).map(async (row): Promise<ScheduleStatus> => {
        const configured = describeCadence(row.cadence, row.timezone);
        const fromConfig = Boolean(this.config.jobs[row.job]?.every ?? this.config.jobs[row.job]?.at);
        const [last] = await listAudit(this.store.db, { job: row.job, limit: 1 });
        const lastRun = last
          ? { at: last.ts, outcome: last.outcome, workflowId: last.workflow_id, error: last.error }
          : undefined;
        const base = { job: row.job, cadence: configured, configured, source: (fromConfig ? 'config' : 'catalogue') as CadenceSource };
        try {
          const d = await this.temporal.schedule.getHandle(row.job).describe();
          const spec = cadenceOfSpec(d.spec);
          const override = overrideOf(d);
          // What Temporal runs is the truth, whoever set it; said the way it was set (60m, not 1h).
          const running = spec && [override?.cadence, row.cadence].find((c) => c && sameCadence(c, spec)) || spec;
          return {
            ...base,
            ...(running ? { cadence: describeCadence(running, row.timezone) } : {}),
            ...(override ? { source: override.proposal === undefined ? 'override' : 'proposal', override } : {}),
            exists: true,
            paused: d.state.paused,
            note: d.state.note,
            nextRunTimes: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
            lastRun,
          };
        } catch (err) {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
          return { ...base, exists: false, paused: false, nextRunTimes: [], lastRun };
        }
      }),
    );
  }

  /** Pauses a job's schedule; the note Temporal keeps says who and why. Audited. */
  pauseSchedule(job: string, who: Who): Promise<void> {
    return this.scheduleAction('pause', job, who);
  }

  resumeSchedule(job: string, who: Who): Promise<void> {
    return this.scheduleAction('resume', job, who);
  }

  /** Starts the schedule's action now (overlap policy applies). Audited. */
  triggerSchedule(job: string, who: Who): Promise<void> {
    return this.scheduleAction('trigger', job, who);
  }

  /**
   * Runs the job at `cadence` from now on, durably (on its Temporal Schedule), until cleared or
   * until the config changes the job's cadence. Checked like a configured cadence; audited
   * (schedules.set). The schedule's pause stays.
   */
  async setScheduleCadence(job: string, cadence: Cadence, who: Who): Promise<ScheduleStatus> {
    const name = requireJob(job);
    const checked = parseCadence(cadence);
    return this.changeCadence(name, checked, parseWho(who));
  }

  /** Back to the configured cadence (config, else the catalogue). Audited (schedules.set). */
  async clearScheduleCadence(job: string, who: Who): Promise<ScheduleStatus> {
    return this.changeCadence(requireJob(job), undefined, parseWho(who));
  }

  private async changeCadence(job: JobName, cadence: Cadence | undefined, who: Who): Promise<ScheduleStatus> {
    const started = Date.now();
    const input = { job, ...(cadence ? { cadence } : { default: true }) };
    let change;
    try {
      change = await changeScheduleCadence(this.temporal, this.config, job, cadence, who);
    } catch (err) {
      const refused = err instanceof CadenceChangeRefused;
      // A refusal changed nothing and says why; a failure is audited as the others are.
      if (!refused) await this.auditSchedule('set', job, who, input, started, err as Error).catch(() => undefined);
      throw refused ? new OpsClientError(err.message) : err;
    }
    await this.auditSchedule('set', job, who, { ...input, before: change.before ?? null, after: change.after }, started);
    const status = (await this.listSchedules()).find((s) => s.job === job);
    if (!status) throw new Error(`${job}: no status after setting its cadence`);
    return status;
  }

  /**
   * Does the action, then writes its audit row (`schedules.<action>`, with actor and reason). A
   * refused or failed action is audited as failed. The row follows the change because Temporal
   * and the store share no transaction, and a row must never claim a change that did not happen.
   */
  private async scheduleAction(action: ScheduleAction, job: string, who: Who): Promise<void> {
    const name = requireJob(job);
    const { actor, reason } = parseWho(who);
    const handle = this.temporal.schedule.getHandle(name);
    const note = `${reason} (${actor})`;
    const started = Date.now();
    let error: Error | undefined;
    try {
      if (action === 'pause') await handle.pause(note);
      else if (action === 'resume') await handle.unpause(note);
      else await handle.trigger();
    } catch (err) {
      error = err as Error;
    }
    if (error) {
      // The failure is what the caller needs to hear; a store that also fails adds nothing.
      await this.auditSchedule(action, name, { actor, reason }, { job: name }, started, error).catch(() => undefined);
      throw error;
    }
    await this.auditSchedule(action, name, { actor, reason }, { job: name }, started);
  }

  /**
   * The audit row of a schedule change (`schedules.<action>`), written after the change because
   * Temporal and the store share no transaction, and a row must never claim a change that did not happen.
   */
  private async auditSchedule(
    action: ScheduleAction | 'set',
    job: JobName,
    who: Who,
    input: Record<string, unknown>,
    started: number,
    error?: Error,
  ): Promise<void> {
    const row = {
      ts: new Date().toISOString(),
      action: `schedules.${action}`,
      action_type: 'operator',
      success: error ? 0 : 1,
      outcome: null,
      error: error ? error.message.slice(0, 1000) : null,
      duration_ms: Date.now() - started,
      input_data: JSON.stringify(input),
      output_data: null,
      workflow_id: null,
      actor: who.actor,
      reason: who.reason,
    };
    if (error) {
      await insertAudit(this.store.db, row);
      return;
    }
    try {
      await insertAudit(this.store.db, row);
    } catch (err) {
      throw new Error(`${job}: schedule ${action} done, but its audit row could not be written: ${(err as Error).message}`, { cause: err });
    }
  }

  // ---- dead letters, audit, incidents ----

  listDeadLetters(filter: { status?: string } = {}) {
    return listDeadLetters(this.store.db, filter);
  }

  /** Re-runs a dead letter's job with its original input; the run marks it replayed. */
  async replayDeadLetter(id: number): Promise<{ job: JobName; workflowId: string }> {
    const letter = await getDeadLetter(this.store.db, id);
    if (!letter) throw new OpsClientError(`No dead letter with id ${id}`);
    if (letter.status === 'resolved') throw new OpsClientError(`Dead letter ${id} is already resolved`);
    const job = requireJob(letter.job);
    const input = JSON.parse(letter.input) as JobInput;
    const workflowId = `${job}-replay-dl${id}-${Date.now().toString(36)}`;
    await markReplayStarted(this.store.db, id, workflowId, new Date());
    await this.temporal.workflow.start(letter.workflow_type, {
      workflowId,
      taskQueue: this.config.temporal.taskQueue,
      args: [{ ...input, trigger: 'replay', replayOf: id }],
      typedSearchAttributes: [{ key: JOB_SEARCH_ATTRIBUTE, value: job }],
    });
    return { job, workflowId };
  }

  /** `job` is a job name or another audited action such as `controls.update`. */
  async audit(filter: { job?: string; since?: Date; limit?: number } = {}) {
    if (filter.job && !filter.job.includes('.')) requireJob(filter.job);
    if (filter.since && Number.isNaN(filter.since.getTime())) throw new OpsClientError('since: not a valid date');
    return listAudit(this.store.db, filter);
  }

  /**
   * Incidents, most urgent first: the ones not resolved by severity (newest first within one),
   * then resolved ones newest first. Archived incidents are not listed.
   */
  async listIncidents(query: IncidentQuery = {}): Promise<IncidentView[]> {
    const { states, limit, type } = parseIncidentQuery(query);
    let select = this.store.db.selectFrom('incidents').selectAll().where('archived', '=', 0);
    if (type !== undefined) select = select.where('type', '=', type);
    if (states.length < INCIDENT_STATES.length) {
      select = select.where((eb) =>
        eb.or(
          states.map((state) =>
            state === 'resolved'
              ? eb('status', '=', 'resolved')
              : eb.and([eb('status', '=', 'open'), eb('acknowledged_at', state === 'open' ? 'is' : 'is not', null)]),
          ),
        ),
      );
    }
    const rows = await select
      .orderBy(sql`case when status = 'open' then 0 else 1 end`)
      .orderBy(sql`case when status <> 'open' then 0 when severity = 'SEV0' then 0 when severity = 'SEV1' then 1 when severity = 'WARN' then 2 else 3 end`)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(withState);
  }

  /** One incident, whatever its state (archived included). */
  async getIncident(id: number): Promise<IncidentView> {
    const row = await getIncidentRow(this.store.db, parseIncidentId(id));
    if (!row) throw new IncidentChangeRefused(`no incident #${id}`);
    return withState(row);
  }

  /**
   * Marks an open incident as known: it stays open (its resolver still resolves it when the
   * condition clears) but no longer counts as unseen. Audited (incident.acknowledge).
   */
  acknowledgeIncident(id: number, who: Who, now = new Date()): Promise<IncidentView> {
    return this.changeIncident(acknowledgeIncident, id, who, now);
  }

  /** Resolves an open or acknowledged incident by hand; the next occurrence opens a new one. Audited (incident.resolve). */
  resolveIncident(id: number, who: Who, now = new Date()): Promise<IncidentView> {
    return this.changeIncident(resolveIncidentBy, id, who, now);
  }

  private async changeIncident(change: typeof acknowledgeIncident, id: number, who: Who, now: Date): Promise<IncidentView> {
    const checkedId = parseIncidentId(id);
    const { actor, reason } = parseWho(who);
    try {
      return withState(await change(this.store.db, checkedId, { actor, reason, now }));
    } catch (err) {
      // The refusal quotes stored text (who acknowledged it); it reaches a terminal.
      if (err instanceof IncidentStateError) throw new IncidentChangeRefused(escapeUnprintable(err.message), { cause: err });
      throw err;
    }
  }

  // ---- proposals ----

  /** Proposals newest first; by default the ones waiting for a decision. Archived ones never. */
  async listProposals(query: ProposalQuery = {}, now = new Date()): Promise<ProposalView[]> {
    const { status, limit } = parseProposalQuery(query);
    const at = now.toISOString();
    let select = this.store.db.selectFrom('proposals').selectAll().where('archived', '=', 0);
    // A pending one past its time is expired, whether or not the sweep has marked it yet.
    if (status === 'pending') select = select.where('status', '=', 'pending').where('expires_at', '>', at);
    else if (status === 'expired') select = select.where((eb) => eb.or([eb('status', '=', 'expired'), eb.and([eb('status', '=', 'pending'), eb('expires_at', '<=', at)])]));
    else select = select.where('status', '=', status);
    const rows = await select.orderBy('id', 'desc').limit(limit).execute();
    return rows.map((row) => proposalView(row, now));
  }

  async getProposal(id: number, now = new Date()): Promise<ProposalView> {
    const row = await getProposal(this.store.db, parseProposalId(id));
    if (!row) throw new ProposalChangeRefused(`no proposal #${id}`);
    return proposalView(row, now);
  }

  /**
   * Approves a pending proposal (audited proposal.approve) and starts the workflow that carries
   * out its action, or records it (record_only); returns that workflow's id. Refused (nothing
   * changed) when it does not exist, is not pending or has expired.
   */
  async approveProposal(id: number, who: Who, now = new Date()): Promise<{ proposal: ProposalView; workflowId: string }> {
    const row = await this.decideProposal(id, 'approve', who, now);
    try {
      const workflowId = await startApplyProposal(this.temporal, this.config.temporal.taskQueue, row.id);
      return { proposal: proposalView(row, now), workflowId };
    } catch (err) {
      throw new Error(
        `proposal #${row.id} is approved, but its apply workflow could not be started: ${(err as Error).message}; \`opsctl proposals apply ${row.id}\` starts it`,
        { cause: err },
      );
    }
  }

  /** Starts (again) the apply workflow of an approved proposal not applied yet: after a failed start, or a run the kill switch stopped. */
  async applyProposal(id: number, now = new Date()): Promise<{ proposal: ProposalView; workflowId: string }> {
    const proposal = await this.getProposal(id, now);
    if (proposal.status !== 'approved') throw new ProposalChangeRefused(`proposal #${proposal.id} is ${proposal.status}, not approved: only an approved one is applied`);
    const workflowId = await startApplyProposal(this.temporal, this.config.temporal.taskQueue, proposal.id);
    return { proposal, workflowId };
  }

  /** Rejects a pending proposal (audited proposal.reject); its (kind, subject) then cools down. */
  async rejectProposal(id: number, who: Who, now = new Date()): Promise<ProposalView> {
    return proposalView(await this.decideProposal(id, 'reject', who, now), now);
  }

  /** Waits for an apply workflow and reads the proposal after it. */
  async proposalApplyResult(workflowId: string, id: number): Promise<ProposalApplyOutcome> {
    let ended: Pick<ProposalApplyOutcome, 'outcome' | 'result' | 'error'>;
    try {
      const result = (await this.temporal.workflow.getHandle(workflowId).result()) as ApplyProposalResult;
      ended = { outcome: 'applied', result: result.result };
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      // The reason is at the bottom: workflow failure > activity failure > what the guard said.
      let cause: Error = err;
      for (let depth = 0; cause.cause instanceof Error && depth < 5; depth++) cause = cause.cause;
      ended = { outcome: 'failed', error: cause.message };
    }
    return { workflowId, ...ended, proposal: await this.getProposal(id) };
  }

  private async decideProposal(id: number, verdict: 'approve' | 'reject', who: Who, now: Date): Promise<ProposalRow> {
    const checkedId = parseProposalId(id);
    const { actor, reason } = parseWho(who);
    try {
      return await decideProposal(this.store.db, checkedId, verdict, { actor, reason, now });
    } catch (err) {
      if (err instanceof ProposalStateError) throw new ProposalChangeRefused(escapeUnprintable(err.message), { cause: err });
      throw err;
    }
  }

  // ---- memory ----

  /** The current item of a key and every earlier version, oldest first. */
  async memoryItem(key: string): Promise<MemoryItemHistory> {
    const checked = parseMemoryKey(key);
    const history = await listMemoryItems(this.store.db, { key: checked, includeSuperseded: true, limit: 1000 });
    if (history.length === 0) throw new OpsClientError(`no memory item with key "${clip(escapeUnprintable(checked), 100)}"`);
    return { key: checked, current: history.find((r) => r.superseded_at === null), history };
  }

  /**
   * Corrects a memory item: the current one is superseded (reason `correction`) by one holding
   * `value`; nothing is deleted. Audited memory.correct with who and why. An unknown key is refused.
   */
  async correctMemory(key: string, value: unknown, who: Who, now = new Date()) {
    const checked = parseMemoryKey(key);
    const { actor, reason } = parseWho(who);
    const text = JSON.stringify(value);
    if (text === undefined) throw new OpsClientError('value: a JSON value (text, number, object, ...)');
    if (text.length > MEMORY_VALUE_MAX_LENGTH) throw new OpsClientError(`value: at most ${MEMORY_VALUE_MAX_LENGTH} characters as JSON, not ${text.length}`);
    try {
      return await correctMemoryItem(this.store.db, { key: checked, value, actor, reason, now });
    } catch (err) {
      if (err instanceof MemoryCorrectionError) throw new OpsClientError(escapeUnprintable(err.message), { cause: err });
      throw err;
    }
  }

  // ---- notifications, allowlist, the daily messages ----

  notifications(filter: { status?: NotificationStatus; limit?: number } = {}) {
    return listNotifications(this.store.db, filter);
  }

  allowlist(opts: { includeRemoved?: boolean } = {}): Promise<AllowlistRow[]> {
    return listAllowlist(this.store.db, opts);
  }

  /** Adds an address messages may go to; `added` is false when it was already listed. */
  async allowlistAdd(entry: { kind: AddressKind; address: string; label?: string; actor: string; reason: string }) {
    const who = parseWho({ actor: entry.actor, reason: entry.reason });
    if (entry.label !== undefined) parseLabel(entry.label);
    return addToAllowlist(this.store.db, { ...entry, ...who, now: new Date() });
  }

  /** Takes an address off the list (the row is kept, stamped removed). */
  async allowlistRemove(entry: { kind: AddressKind; address: string; actor: string; reason: string }): Promise<AllowlistRow> {
    const who = parseWho({ actor: entry.actor, reason: entry.reason });
    const removed = await removeFromAllowlist(this.store.db, { ...entry, ...who, now: new Date() });
    if (!removed) throw new OpsClientError(`${entry.address} is not on the allowlist`);
    return removed;
  }

  /** Today's digest exactly as the job would send it, without sending it. */
  async digestPreview(at = new Date()): Promise<DigestPreview> {
    return this.messages().prepareDigest({ day: localDay(at, this.config.timezone) });
  }

  /** Today's morning-call script, without calling. */
  async callPreview(at = new Date()): Promise<CallPreview> {
    return this.messages().prepareCallScript({ day: localDay(at, this.config.timezone) });
  }

  private messages() {
    const deps = { config: this.config, store: this.store, client: this.temporal, logger: createLogger('silent'), now: () => new Date() };
    return createMessageActivities(deps, createNotifier(deps));
  }

  async status(): Promise<SystemStatus> {
    const temporal: SystemStatus['temporal'] = {
      ok: true,
      address: this.config.temporal.address,
      namespace: this.config.temporal.namespace,
    };
    let controls: ControlsView | undefined;
    try {
      controls = await this.getControls();
    } catch (err) {
      temporal.ok = false;
      temporal.error = (err as Error).message;
    }
    const store: SystemStatus['store'] = { ok: true, dialect: this.store.dialect };
    try {
      await listAudit(this.store.db, { limit: 1 });
    } catch (err) {
      store.ok = false;
      store.error = (err as Error).message;
    }
    const schedules = temporal.ok ? await this.listSchedules() : [];
    const sources = store.ok ? await this.sources() : [];
    const comms = store.ok ? await this.comms() : undefined;
    const incidents = store.ok ? await this.incidentCounts() : undefined;
    return { controls, temporal, store, schedules, sources, ...(comms ? { comms } : {}), ...(incidents ? { incidents } : {}) };
  }

  /** Incidents not resolved yet, per severity: open and acknowledged. */
  incidentCounts(): Promise<IncidentCounts> {
    return openIncidentCounts(this.store.db);
  }

  async comms(): Promise<CommsStatus> {
    const channels = configuredChannels(this.config, createLogger('silent'));
    const [allowlisted, held] = await Promise.all([this.allowlist(), countNotifications(this.store.db, 'held')]);
    return { channels: channels.length ? channels : ['console'], allowlisted: allowlisted.length, held };
  }

  /** Every data source: whether it is configured, and its sync state (data_source_sync). */
  async sources(): Promise<SourceStatus[]> {
    const rows = new Map((await listSourceSync(this.store.db)).map((r) => [r.source_name, r]));
    return SOURCE_NAMES.map((source) => {
      const missing = missingSourceSettings(this.config, source);
      const row = rows.get(source);
      const cursor = row?.cursor ? (JSON.parse(row.cursor) as unknown) : null;
      return {
        source,
        configured: missing === undefined,
        ...(missing ? { missing } : {}),
        state: row?.status ?? 'idle',
        lastSyncAt: row?.last_sync_completed_at ?? null,
        lastOutcome: row?.last_outcome ?? null,
        items: row?.items_synced ?? 0,
        pages: row?.pages_synced ?? 0,
        cursor,
        pending: row && cursor !== null ? { pages: row.run_pages, items: row.run_items } : null,
        consecutiveFailures: row?.consecutive_failures ?? 0,
        lastError: row?.last_error ?? null,
        lockedBy: row?.status === 'running' ? row.lease_holder : null,
      };
    });
  }
}

/** Applies pending migrations for a writer; a reader is told the schema is behind, by name. */
async function bringSchemaUpToDate(store: Store, access: StoreAccess): Promise<string[]> {
  const pending = await pendingMigrations(store);
  if (pending.length === 0) return [];
  if (access === 'write') return migrateToLatest(store);
  throw new Error(
    `the store's schema is behind this version (${pending.length} migration(s) pending: ${pending.join(', ')}); ` +
      'read-only commands never change it: run `npm start` or `opsctl migrate` to upgrade it',
  );
}

function withState(row: IncidentRow): IncidentView {
  return { ...row, state: incidentState(row) };
}

/** Ids are positive whole numbers a bigint column holds. */
function parseIncidentId(id: number): number {
  if (!Number.isSafeInteger(id) || id < 1) throw new OpsClientError(`incident id: a positive whole number, not ${escapeUnprintable(String(id))}`);
  return id;
}

/** An IncidentQuery checked and with its defaults: states not resolved, INCIDENT_LIST_DEFAULT rows. */
export function parseIncidentQuery(query: IncidentQuery): { states: readonly IncidentState[]; limit: number; type?: string } {
  const limit = query.limit ?? INCIDENT_LIST_DEFAULT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > INCIDENT_LIST_MAX) {
    throw new OpsClientError(`limit: a whole number from 1 to ${INCIDENT_LIST_MAX}, not ${escapeUnprintable(String(limit))}`);
  }
  const { type } = query;
  if (type !== undefined && (typeof type !== 'string' || type.length > INCIDENT_LIMITS.type || !INCIDENT_TYPE.test(type))) {
    throw new OpsClientError(
      `type: "${clip(escapeUnprintable(String(type)), 80)}" is not an incident type (letters, digits and _ . : - only, at most ${INCIDENT_LIMITS.type} characters)`,
    );
  }
  const states = query.states ?? ['open', 'acknowledged'];
  if (states.length === 0) throw new OpsClientError(`states: at least one of ${INCIDENT_STATES.join(', ')}`);
  for (const state of states) {
    if (!INCIDENT_STATES.includes(state)) throw new OpsClientError(`states: "${clip(escapeUnprintable(String(state)), 80)}" is not one of ${INCIDENT_STATES.join(', ')}`);
  }
  return { states: [...new Set(states)], limit, ...(type === undefined ? {} : { type }) };
}

function parseProposalId(id: number): number {
  if (!Number.isSafeInteger(id) || id < 1) throw new OpsClientError(`proposal id: a positive whole number, not ${escapeUnprintable(String(id))}`);
  return id;
}

export function parseProposalQuery(query: ProposalQuery): { status: ProposalStatus; limit: number } {
  const limit = query.limit ?? PROPOSAL_LIST_DEFAULT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > PROPOSAL_LIST_MAX) {
    throw new OpsClientError(`limit: a whole number from 1 to ${PROPOSAL_LIST_MAX}, not ${escapeUnprintable(String(limit))}`);
  }
  const status = query.status ?? 'pending';
  if (!PROPOSAL_STATUSES.includes(status)) {
    throw new OpsClientError(`status: "${clip(escapeUnprintable(String(status)), 80)}" is not one of ${PROPOSAL_STATUSES.join(', ')}`);
  }
  return { status, limit };
}

function proposalView(row: ProposalRow, now: Date): ProposalView {
  const action = proposalActionSchema.safeParse(safeJson(row.action));
  const evidence = safeJson(row.evidence);
  return {
    ...row,
    state: row.status === 'pending' && row.expires_at <= now.toISOString() ? 'expired' : row.status,
    action: action.success ? action.data : null,
    does: action.success ? describeAction(action.data) : 'unreadable action (it is never carried out)',
    evidence: Array.isArray(evidence) ? (evidence as EvidenceRef[]) : [],
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Memory keys are what the syncs wrote (notion:<id>, hubspot:contact:<id>, ...): one printable line. */
function parseMemoryKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MEMORY_KEY_MAX_LENGTH || hasUnprintable(key)) {
    throw new OpsClientError(`key: one line of printable text, 1 to ${MEMORY_KEY_MAX_LENGTH} characters`);
  }
  return key;
}

function requireJob(job: string): JobName {
  if (!isJobName(job)) {
    throw new OpsClientError(`Unknown job "${job}". Jobs: ${JOB_NAMES.join(', ')}`);
  }
  return job;
}

/** A run-time cadence, held to the rules of a configured one: exactly one of every / at. */
function parseCadence(cadence: Cadence): Cadence {
  const c = cadence as Partial<Record<'every' | 'at', unknown>>;
  const keys = Object.keys(cadence);
  if (keys.length !== 1 || (typeof c.every !== 'string' && typeof c.at !== 'string')) {
    throw new OpsClientError('a cadence is exactly one of { every: "15m" } or { at: "07:30" }');
  }
  const checked: Cadence = typeof c.every === 'string' ? { every: c.every } : { at: c.at as string };
  const problem = cadenceProblem(checked);
  if (problem) throw new OpsClientError(`${'every' in checked ? 'every' : 'at'}: ${problem}`);
  return checked;
}
