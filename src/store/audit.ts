import type { Insertable, Kysely, Selectable } from 'kysely';
import type { AuditTable, Database } from './schema';

export type AuditRow = Selectable<AuditTable>;
export type NewAuditRow = Insertable<AuditTable>;

export async function insertAudit(db: Kysely<Database>, row: NewAuditRow): Promise<void> {
  await db.insertInto('agent_audit_log').values(row).execute();
}

/** The audit row a job run (one Temporal run) wrote when it ended, if it has. */
export async function findRunAudit(db: Kysely<Database>, job: string, runId: string): Promise<AuditRow | undefined> {
  return db
    .selectFrom('agent_audit_log')
    .selectAll()
    .where('run_id', '=', runId)
    .where('action', '=', job)
    .where('action_type', '=', 'system')
    .orderBy('id')
    .executeTakeFirst();
}

/** Newest first; archived rows only when asked for. */
export async function listAudit(
  db: Kysely<Database>,
  filter: { job?: string; since?: Date; limit?: number; includeArchived?: boolean } = {},
): Promise<AuditRow[]> {
  let query = db.selectFrom('agent_audit_log').selectAll();
  if (filter.job) query = query.where('action', '=', filter.job);
  if (filter.since) query = query.where('ts', '>=', filter.since.toISOString());
  if (!filter.includeArchived) query = query.where('archived', '=', 0);
  return query.orderBy('ts', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 100).execute();
}

/**
 * Failed runs of `job` since its last success; skipped runs neither break nor extend the streak.
 * Insertion order (id), not ts, decides "since": a run's row is written when it ends.
 */
export async function consecutiveFailures(db: Kysely<Database>, job: string): Promise<number> {
  const lastSuccess = db
    .selectFrom('agent_audit_log')
    .select((eb) => eb.fn.coalesce(eb.fn.max('id'), eb.lit(0)).as('id'))
    .where('action', '=', job)
    .where('outcome', '=', 'succeeded');
  const row = await db
    .selectFrom('agent_audit_log')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('action', '=', job)
    .where('outcome', '=', 'failed')
    .where('id', '>', lastSuccess)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Who decided what, and why: an operator's action, or the system's on a decision of theirs. */
export interface AuditedDecision {
  action: string;
  actor: string;
  reason: string;
  now: Date;
  /** What was acted on, and what came of it (stored as JSON). */
  input: unknown;
  output: unknown;
  actionType?: 'operator' | 'system';
  /** Recorded as a failed action, the reason as its error. */
  failed?: boolean;
}

/** The audit log's caps for who and why (the controls model refuses longer ones from people). */
const ACTOR_MAX = 100;
const REASON_MAX = 500;
const capped = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** One audit row for a decision, in the caller's transaction (so the change and its row land together). */
export async function auditDecision(db: Kysely<Database>, decision: AuditedDecision): Promise<void> {
  const reason = capped(decision.reason, REASON_MAX);
  await insertAudit(db, {
    ts: decision.now.toISOString(),
    action: decision.action,
    action_type: decision.actionType ?? 'operator',
    success: decision.failed ? 0 : 1,
    outcome: null,
    error: decision.failed ? reason : null,
    duration_ms: null,
    input_data: JSON.stringify(decision.input),
    output_data: JSON.stringify(decision.output),
    workflow_id: null,
    actor: capped(decision.actor, ACTOR_MAX),
    reason,
  });
}
