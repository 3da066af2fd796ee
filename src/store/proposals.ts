/**
 * Proposals: what periodic_scan found worth changing, put to the operator. The store enforces the
 * spec's limits itself (one pending per kind and subject, a cool-down after a rejection, at most N
 * new per hour), so two scans running at the same moment cannot exceed them.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import { proposalActionSchema, type ProposalAction } from '../proposal-actions';
import { auditDecision } from './audit';
import type { Database, ProposalsTable, ProposalStatus } from './schema';
import { isPostgres, writeTransaction } from './tx';

export type ProposalRow = Selectable<ProposalsTable>;

export interface EvidenceRef {
  /** The table the row is in (agent_audit_log, memory_items, api_request_windows, ...). */
  table: string;
  id: number | string;
}

export interface NewProposal {
  kind: string;
  subject: string;
  title: string;
  rationale: string;
  evidence: readonly EvidenceRef[];
  confidence: number;
  action: ProposalAction;
  now: Date;
}

export interface ProposalLimits {
  /** The spec's "max 10 proposals per hour". */
  perHour: number;
  /** A (kind, subject) rejected less than this ago is not proposed again. */
  coolDownMs: number;
  /** A pending proposal expires after this. */
  expiresAfterMs: number;
}

export type ProposalOffer =
  | { created: true; id: number }
  | { created: false; why: 'pending' | 'cooling_down' | 'hourly_cap'; id?: number };

export const PROPOSAL_LIMITS = { kind: 100, subject: 300, title: 300, rationale: 4000, evidence: 200, actor: 100, reason: 500 } as const;

const HOUR_MS = 3600_000;
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export class ProposalStateError extends Error {
  override readonly name = 'ProposalStateError';
}

/**
 * Creates the proposal unless its (kind, subject) is pending, was rejected within the cool-down,
 * or the hour's cap is reached; says which. One lock serialises every offer (the cap is global),
 * on PostgreSQL an advisory lock, on SQLite the single write lock.
 */
export async function offerProposal(db: Kysely<Database>, proposal: NewProposal, limits: ProposalLimits): Promise<ProposalOffer> {
  const action = proposalActionSchema.parse(proposal.action);
  if (!(proposal.confidence >= 0 && proposal.confidence <= 1)) throw new RangeError(`confidence ${proposal.confidence} is not within 0..1`);
  const kind = clip(proposal.kind, PROPOSAL_LIMITS.kind);
  const subject = clip(proposal.subject, PROPOSAL_LIMITS.subject);
  const at = proposal.now.toISOString();
  return writeTransaction(db, async (tx) => {
    if (isPostgres(tx)) await sql`select pg_advisory_xact_lock(hashtext('ops-proposals'))`.execute(tx);
    const pending = await tx
      .selectFrom('proposals')
      .select('id')
      .where('kind', '=', kind)
      .where('subject', '=', subject)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (pending) return { created: false, why: 'pending', id: pending.id };
    const rejected = await tx
      .selectFrom('proposals')
      .select('id')
      .where('kind', '=', kind)
      .where('subject', '=', subject)
      .where('status', '=', 'rejected')
      .where('decided_at', '>', new Date(proposal.now.getTime() - limits.coolDownMs).toISOString())
      .executeTakeFirst();
    if (rejected) return { created: false, why: 'cooling_down', id: rejected.id };
    const made = await tx
      .selectFrom('proposals')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('created_at', '>', new Date(proposal.now.getTime() - HOUR_MS).toISOString())
      .where('created_at', '<=', at)
      .executeTakeFirstOrThrow();
    if (Number(made.n) >= limits.perHour) return { created: false, why: 'hourly_cap' };
    const row = await tx
      .insertInto('proposals')
      .values({
        created_at: at,
        kind,
        subject,
        title: clip(proposal.title, PROPOSAL_LIMITS.title),
        rationale: clip(proposal.rationale, PROPOSAL_LIMITS.rationale),
        evidence: JSON.stringify(proposal.evidence.slice(0, PROPOSAL_LIMITS.evidence)),
        confidence: proposal.confidence,
        action: JSON.stringify(action),
        expires_at: new Date(proposal.now.getTime() + limits.expiresAfterMs).toISOString(),
        decided_at: null,
        decided_by: null,
        decision_reason: null,
        applied_at: null,
        apply_result: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { created: true, id: row.id };
  });
}

export interface ProposalDecision {
  actor: string;
  reason: string;
  now: Date;
}

/** Approves or rejects a pending proposal, with its audit row; refuses anything else by name. */
export async function decideProposal(
  db: Kysely<Database>,
  id: number,
  verdict: 'approve' | 'reject',
  decision: ProposalDecision,
): Promise<ProposalRow> {
  return changeProposal(db, id, `proposal.${verdict}`, decision, (row) => {
    if (row.status !== 'pending') return `proposal #${id} is ${row.status}, not pending`;
    if (row.expires_at <= decision.now.toISOString()) return `proposal #${id} expired at ${row.expires_at}`;
    return {
      status: verdict === 'approve' ? 'approved' : 'rejected',
      decided_at: decision.now.toISOString(),
      decided_by: clip(decision.actor, PROPOSAL_LIMITS.actor),
      decision_reason: clip(decision.reason, PROPOSAL_LIMITS.reason),
    };
  });
}

/** Marks an approved proposal applied, with what was done (idempotent: applied again changes nothing). */
export async function markProposalApplied(db: Kysely<Database>, id: number, result: string, now: Date): Promise<ProposalRow> {
  return changeProposal(db, id, 'proposal.apply', { actor: 'system', reason: result, now }, (row) => {
    if (row.status === 'applied') return undefined;
    if (row.status !== 'approved') return `proposal #${id} is ${row.status}, not approved`;
    return { status: 'applied', applied_at: now.toISOString(), apply_result: clip(result, PROPOSAL_LIMITS.rationale) };
  });
}

/** Records why an approved proposal could not be applied; it stays approved (for the operator). */
export async function noteProposalApplyFailure(db: Kysely<Database>, id: number, error: string, now: Date): Promise<ProposalRow> {
  return changeProposal(db, id, 'proposal.apply', { actor: 'system', reason: error, now }, (row) => {
    if (row.status !== 'approved') return `proposal #${id} is ${row.status}, not approved`;
    return { apply_result: clip(`not applied: ${error}`, PROPOSAL_LIMITS.rationale) };
  }, false);
}

/** Expires every pending proposal past its time; returns them. */
export async function expireProposals(db: Kysely<Database>, now: Date): Promise<ProposalRow[]> {
  const due = await db
    .selectFrom('proposals')
    .select('id')
    .where('status', '=', 'pending')
    .where('expires_at', '<=', now.toISOString())
    .orderBy('id')
    .limit(500)
    .execute();
  const expired: ProposalRow[] = [];
  for (const { id } of due) {
    const row = await changeProposal(db, id, 'proposal.expire', { actor: 'system', reason: 'not decided in time', now }, (r) =>
      r.status === 'pending' ? { status: 'expired' } : undefined,
    ).catch((err: unknown) => {
      if (err instanceof ProposalStateError) return undefined;
      throw err;
    });
    if (row) expired.push(row);
  }
  return expired;
}

type ProposalChange = Partial<Pick<ProposalRow, 'status' | 'decided_at' | 'decided_by' | 'decision_reason' | 'applied_at' | 'apply_result'>>;

async function changeProposal(
  db: Kysely<Database>,
  id: number,
  action: string,
  decision: ProposalDecision,
  decide: (row: ProposalRow) => ProposalChange | string | undefined,
  success = true,
): Promise<ProposalRow> {
  return writeTransaction(db, async (tx) => {
    if (isPostgres(tx)) await sql`select id from proposals where id = ${id} for update`.execute(tx);
    const row = await tx.selectFrom('proposals').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new ProposalStateError(`no proposal #${id}`);
    const change = decide(row);
    if (typeof change === 'string') throw new ProposalStateError(change);
    if (change === undefined) return row;
    await tx.updateTable('proposals').set(change).where('id', '=', id).execute();
    await auditDecision(tx, {
      action,
      actor: decision.actor,
      reason: decision.reason,
      now: decision.now,
      input: { id, kind: row.kind, subject: row.subject },
      output: { status: change.status ?? row.status },
      actionType: decision.actor === 'system' ? 'system' : 'operator',
      failed: !success,
    });
    return { ...row, ...change };
  });
}

export async function getProposal(db: Kysely<Database>, id: number): Promise<ProposalRow | undefined> {
  return db.selectFrom('proposals').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Newest first; archived ones never. */
export async function listProposals(db: Kysely<Database>, filter: { status?: ProposalStatus; limit?: number } = {}): Promise<ProposalRow[]> {
  let query = db.selectFrom('proposals').selectAll().where('archived', '=', 0);
  if (filter.status) query = query.where('status', '=', filter.status);
  return query.orderBy('id', 'desc').limit(Math.min(filter.limit ?? 50, 1000)).execute();
}

/** The action stored with a proposal, checked again before anything acts on it. */
export function proposalAction(row: Pick<ProposalRow, 'action'>): ProposalAction {
  return proposalActionSchema.parse(JSON.parse(row.action));
}

/** For the digest and the morning call: proposals made, applied, and waiting in a window. */
export async function proposalCounts(db: Kysely<Database>, window: { since: Date; until: Date }): Promise<{ created: number; applied: number; pending: number }> {
  const since = window.since.toISOString();
  const until = window.until.toISOString();
  const count = async (build: (q: ReturnType<typeof base>) => ReturnType<typeof base>) => Number((await build(base()).executeTakeFirstOrThrow()).n);
  const base = () => db.selectFrom('proposals').select((eb) => eb.fn.countAll<number>().as('n'));
  const [created, applied, pending] = await Promise.all([
    count((q) => q.where('created_at', '>', since).where('created_at', '<=', until)),
    count((q) => q.where('status', '=', 'applied').where('applied_at', '>', since).where('applied_at', '<=', until)),
    count((q) => q.where('status', '=', 'pending').where('expires_at', '>', until)),
  ]);
  return { created, applied, pending };
}
