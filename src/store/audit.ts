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
