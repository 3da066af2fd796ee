/** Read-only figures for the daily digest and the morning call. */
import type { Kysely } from 'kysely';
import type { Database } from './schema';
import type { NotificationRow } from './notifications';

/** Job runs that ended since `since` (skipped ones ran too), and how many failed. */
export async function runsSince(db: Kysely<Database>, since: Date): Promise<{ executed: number; failed: number }> {
  const rows = await db
    .selectFrom('agent_audit_log')
    .select(['outcome', (eb) => eb.fn.countAll<number>().as('n')])
    .where('ts', '>=', since.toISOString())
    .where('outcome', 'is not', null)
    .groupBy('outcome')
    .execute();
  const count = (outcome: string) => Number(rows.find((r) => r.outcome === outcome)?.n ?? 0);
  return { executed: rows.reduce((n, r) => n + Number(r.n), 0), failed: count('failed') };
}

/** Incidents created since `since` other than INFO. */
export async function seriousIncidentsSince(db: Kysely<Database>, since: Date): Promise<number> {
  const row = await db
    .selectFrom('incidents')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('created_at', '>=', since.toISOString())
    .where('severity', '!=', 'INFO')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function openDeadLetterCount(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('dead_letters')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', 'in', ['open', 'exhausted'])
    .where('archived', '=', 0)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * SEV0/SEV1 alerts raised since `since`, whatever became of their sending (sent, suppressed,
 * refused): the digest recaps them beside the held ones.
 */
export function urgentNotificationsSince(db: Kysely<Database>, since: Date): Promise<NotificationRow[]> {
  return db
    .selectFrom('notifications')
    .selectAll()
    .where('created_at', '>=', since.toISOString())
    .where('severity', 'in', ['SEV0', 'SEV1'])
    .where('incident_id', 'is not', null)
    .execute();
}

/** Notifications that ask for the operator's approval and have not reached them in a digest yet. */
export function pendingApprovals(db: Kysely<Database>): Promise<NotificationRow[]> {
  return db
    .selectFrom('notifications')
    .selectAll()
    .where('requires_approval', '=', 1)
    .where('status', 'in', ['held', 'pending', 'failed'])
    .where('archived', '=', 0)
    .orderBy('created_at', 'desc')
    .execute();
}
