/** Read-only figures for the daily digest and the morning call. */
import type { Kysely } from 'kysely';
import type { Database } from './schema';
import type { NotificationRow } from './notifications';
import type { ProposalRow } from './proposals';

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

/**
 * Proposals waiting for the operator's decision: pending and not expired at `now` (an expired one
 * can no longer be approved). The total, how many of them were made after `newSince`, and the
 * newest `limit`.
 */
export async function pendingApprovals(
  db: Kysely<Database>,
  now: Date,
  options: { newSince?: Date; limit?: number } = {},
): Promise<{ total: number; new: number; newest: ProposalRow[] }> {
  const at = now.toISOString();
  const since = (options.newSince ?? now).toISOString();
  const waiting = () => db.selectFrom('proposals').where('status', '=', 'pending').where('expires_at', '>', at).where('archived', '=', 0);
  const [count, newest] = await Promise.all([
    waiting()
      .select((eb) => [eb.fn.countAll<number | string>().as('total'), eb.fn.count<number | string>('id').filterWhere('created_at', '>', since).as('new')])
      .executeTakeFirstOrThrow(),
    waiting().selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit ?? 5).execute(),
  ]);
  return { total: Number(count.total), new: Number(count.new), newest };
}

/** The reason a memory item carries once the operator corrected it (opsctl memory correct). */
export const CORRECTION_REASON = 'correction';

/** Memory items the operator corrected in (since, until]: rows superseded with the reason `correction`. */
export async function memoryCorrectionsBetween(db: Kysely<Database>, window: { since: Date; until: Date }): Promise<number> {
  const row = await db
    .selectFrom('memory_items')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('superseded_reason', '=', CORRECTION_REASON)
    .where('superseded_at', '>', window.since.toISOString())
    .where('superseded_at', '<=', window.until.toISOString())
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
