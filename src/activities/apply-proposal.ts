/**
 * Carrying out an approved proposal (issue 10 "Approval, and corrections"). The applyProposal
 * workflow reads the proposal, runs its action here, then marks it applied. Each activity is
 * idempotent: a retried one (or a second run after a failed one) changes nothing twice.
 */
import { ScheduleNotFoundError } from '@temporalio/client';
import { KillSwitchActive, OpsError, ValidationError } from '../errors';
import { describeAction, type ProposalAction } from '../proposal-actions';
import { isJobName } from '../jobs';
import { cadenceOfSpec, overrideOf } from '../schedules/override';
import { CadenceChangeRefused, changeScheduleCadence } from '../schedules/set-cadence';
import { durationMs, intervalProblem } from '../schedules/table';
import {
  getProposal,
  insertAudit,
  markProposalApplied,
  muteIncidentType,
  noteProposalApplyFailure,
  proposalAction,
  readControls,
  ProposalStateError,
  type ProposalRow,
} from '../store';
import type { ActivityDeps } from './deps';

export const APPLY_PROPOSAL_WORKFLOW = 'applyProposal';

/** `apply-proposal-<id>`: one applying run per proposal. */
export function applyProposalWorkflowId(proposalId: number): string {
  return `apply-proposal-${proposalId}`;
}

export interface ApplyProposalInput {
  proposalId: number;
}

/** The proposal as the workflow needs it: applied already (nothing to do), or approved with its action. */
export type ProposalToApply =
  | { id: number; status: 'applied'; result: string }
  | { id: number; status: 'approved'; action: ProposalAction; decidedBy: string; reason: string };

/** The controls forbid applying now: kill switch, jobs or writes off. Not retried; the proposal stays approved. */
export class ApplyBlocked extends OpsError {
  constructor(reason: string) {
    super(reason, 'kill_switch');
  }
}

const ACTOR = 'system';

export function createApplyProposalActivities(deps: ActivityDeps) {
  const { store, client, now } = deps;
  const db = store.db;

  /** The spec's prerequisites, read from the store mirror at the start of every writing step. */
  async function assertMayApply(): Promise<void> {
    const controls = await readControls(db);
    if (controls?.killSwitch) throw new KillSwitchActive();
    if (controls && !controls.jobsEnabled) throw new ApplyBlocked('Jobs are disabled');
    if (controls && !controls.writeEnabled) throw new ApplyBlocked('Writes are disabled');
  }

  async function audit(action: string, input: Record<string, unknown>, row: ProposalRow, error?: string): Promise<void> {
    await insertAudit(db, {
      ts: now().toISOString(),
      action,
      action_type: 'system',
      success: error ? 0 : 1,
      outcome: null,
      error: error ?? null,
      duration_ms: null,
      input_data: JSON.stringify({ ...input, proposal: row.id }),
      output_data: null,
      workflow_id: applyProposalWorkflowId(row.id),
      actor: ACTOR,
      reason: `proposal #${row.id} approved by ${row.decided_by ?? 'unknown'}: ${row.decision_reason ?? ''}`.slice(0, 500),
    });
  }

  async function approved(id: number): Promise<ProposalRow> {
    const row = await getProposal(db, id);
    if (!row) throw new ValidationError(`no proposal #${id}`);
    if (row.status !== 'approved') throw new ValidationError(`proposal #${id} is ${row.status}, not approved`);
    return row;
  }

  /** Pauses the job's schedule, audited like `opsctl schedules pause` (schedules.pause). */
  async function pauseSchedule(row: ProposalRow, job: string): Promise<string> {
    const handle = client.schedule.getHandle(job);
    const described = await handle.describe().catch((err: unknown) => {
      if (err instanceof ScheduleNotFoundError) throw new ValidationError(`no schedule ${job}`);
      throw err;
    });
    if (described.state.paused) return `the ${job} schedule was already paused (${described.state.note ?? 'no note'})`;
    await handle.pause(`proposal #${row.id} (${row.decided_by ?? 'unknown'})`);
    await audit('schedules.pause', { job }, row);
    return `paused the ${job} schedule; resume it with opsctl schedules resume ${job}`;
  }

  /**
   * Runs the job every `every` through the same run-time override as `opsctl schedules set`
   * (schedules/set-cadence.ts): the schedule records it as this proposal's, reconcile at boot keeps
   * it until the config changes the job's cadence (a person's config then wins), and
   * `opsctl schedules set JOB --default` undoes it. Audited (schedules.set).
   */
  async function setCadence(row: ProposalRow, job: string, every: string): Promise<string> {
    const problem = intervalProblem(every);
    if (problem) throw new ValidationError(`set_cadence: ${problem}`);
    if (!isJobName(job)) throw new ValidationError(`set_cadence: unknown job ${job}`);
    const described = await client.schedule
      .getHandle(job)
      .describe()
      .catch((err: unknown) => {
        if (err instanceof ScheduleNotFoundError) throw new ValidationError(`no schedule ${job}`);
        throw err;
      });
    const running = cadenceOfSpec(described.spec);
    if (!running || !('every' in running)) {
      throw new ValidationError(`the ${job} schedule does not run at an interval; its cadence is not changed`);
    }
    // A retried activity: this proposal's override is in place already, nothing to do twice.
    if (overrideOf(described)?.proposal === row.id) return `${job} already runs every ${every}`;
    let change;
    try {
      change = await changeScheduleCadence(
        client,
        deps.config,
        job,
        { every },
        { actor: `proposal #${row.id} (${row.decided_by ?? 'unknown'})`, reason: (row.decision_reason ?? '').slice(0, 1000) || 'approved', proposal: row.id },
        now(),
      );
    } catch (err) {
      if (err instanceof CadenceChangeRefused) throw new ValidationError(`set_cadence: ${err.message}`);
      throw err;
    }
    const beforeMs = change.before && 'every' in change.before ? durationMs(change.before.every) : null;
    await audit('schedules.set', { job, cadence: { every }, before: change.before ?? null, beforeMs }, row);
    return beforeMs === durationMs(every) ? `${job} already ran every ${every}` : `${job} now runs every ${every}`;
  }

  /** Mutes the type; a mute this proposal made already is not made twice. */
  async function mute(row: ProposalRow, type: string, hours: number): Promise<string> {
    const existing = await db.selectFrom('incident_mutes').select(['muted_until']).where('proposal_id', '=', row.id).executeTakeFirst();
    if (existing) return `new ${type} alerts muted until ${existing.muted_until}`;
    const at = now();
    const until = new Date(at.getTime() + hours * 3600_000);
    await muteIncidentType(db, {
      type,
      until,
      proposalId: row.id,
      actor: ACTOR,
      reason: `proposal #${row.id} approved by ${row.decided_by ?? 'unknown'}`,
      now: at,
    });
    return `new ${type} alerts muted until ${until.toISOString()}`;
  }

  return {
    /** The proposal to apply: approved (with its checked action), or applied already. */
    async readProposalToApply(input: ApplyProposalInput): Promise<ProposalToApply> {
      const row = await getProposal(db, input.proposalId);
      if (!row) throw new ValidationError(`no proposal #${input.proposalId}`);
      if (row.status === 'applied') return { id: row.id, status: 'applied', result: row.apply_result ?? '' };
      if (row.status !== 'approved') throw new ValidationError(`proposal #${row.id} is ${row.status}, not approved: nothing to apply`);
      let action: ProposalAction;
      try {
        action = proposalAction(row);
      } catch (err) {
        throw new ValidationError(`proposal #${row.id}: its stored action is not valid (${(err as Error).message.slice(0, 300)})`);
      }
      return { id: row.id, status: 'approved', action, decidedBy: row.decided_by ?? 'unknown', reason: row.decision_reason ?? '' };
    },

    /** Carries out the action; returns what was done, in words. */
    async applyProposalAction(input: ApplyProposalInput): Promise<string> {
      await assertMayApply();
      const row = await approved(input.proposalId);
      const action = proposalAction(row);
      switch (action.kind) {
        case 'pause_schedule':
          return pauseSchedule(row, action.job);
        case 'set_cadence':
          return setCadence(row, action.job, action.every);
        case 'mute_incident_type':
          return mute(row, action.type, action.hours);
        case 'record_only':
          return `recorded for the operator: ${describeAction(action)}`;
      }
    },

    /** Idempotent: a proposal applied already stays as it is. */
    async recordProposalApplied(input: ApplyProposalInput & { result: string }): Promise<void> {
      try {
        await markProposalApplied(db, input.proposalId, input.result, now());
      } catch (err) {
        if (err instanceof ProposalStateError) throw new ValidationError(err.message);
        throw err;
      }
    },

    /** The proposal stays approved, with why it was not applied. */
    async recordProposalApplyFailure(input: ApplyProposalInput & { error: string }): Promise<void> {
      try {
        await noteProposalApplyFailure(db, input.proposalId, input.error, now());
      } catch (err) {
        if (err instanceof ProposalStateError) throw new ValidationError(err.message);
        throw err;
      }
    },
  };
}
