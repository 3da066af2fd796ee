import type { Kysely, Selectable } from 'kysely';
import type {
  AttemptOutcome,
  Channel,
  Database,
  NotificationAttemptsTable,
  NotificationRoute,
  NotificationsTable,
  NotificationStatus,
  Severity,
} from './schema';
import { writeTransaction } from './tx';

export type NotificationRow = Selectable<NotificationsTable>;
export type NotificationAttemptRow = Selectable<NotificationAttemptsTable>;

/** What a notification says. */
export interface NotificationContent {
  severity: Severity;
  type: string;
  title: string;
  body: string;
  requiresApproval?: boolean;
  meta?: Record<string, unknown>;
}

export interface NewNotification extends NotificationContent {
  idempotencyKey: string;
  workflowId?: string;
  route: NotificationRoute;
  incidentId?: number;
  now: Date;
}

/** Statuses after which asking again with the same key sends nothing. */
export const SETTLED_STATUSES: readonly NotificationStatus[] = ['sent', 'unknown', 'held', 'delivered'];

/** The notification with this key, created (status pending) if it is new. */
export async function openNotification(db: Kysely<Database>, n: NewNotification): Promise<NotificationRow> {
  const at = n.now.toISOString();
  await db
    .insertInto('notifications')
    .values({
      idempotency_key: n.idempotencyKey,
      created_at: at,
      updated_at: at,
      workflow_id: n.workflowId ?? null,
      severity: n.severity,
      type: n.type,
      title: n.title,
      body: n.body,
      requires_approval: n.requiresApproval ? 1 : 0,
      meta: n.meta ? JSON.stringify(n.meta) : null,
      route: n.route,
      channel: null,
      recipient: null,
      status: 'pending',
      status_reason: null,
      provider_id: null,
      sent_at: null,
      delivered_in: null,
      delivered_at: null,
      incident_id: n.incidentId ?? null,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .execute();
  return getNotification(db, n.idempotencyKey) as Promise<NotificationRow>;
}

export function getNotification(db: Kysely<Database>, key: string): Promise<NotificationRow | undefined> {
  return db.selectFrom('notifications').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
}

interface AttemptContext {
  workflowId?: string;
  activityAttempt?: number;
  now: Date;
}

/** Records a routing decision that sends nothing: held, suppressed or refused. */
export async function recordDecision(
  db: Kysely<Database>,
  id: number,
  decision: { status: 'held' | 'suppressed' | 'refused'; reason: string; channel?: Channel; recipient?: string } & AttemptContext,
): Promise<NotificationRow> {
  return writeTransaction(db, async (tx) => {
    const row = await tx.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    if (SETTLED_STATUSES.includes(row.status)) return row;
    if (row.status === 'sending') return settleAbandonedSend(tx, row, decision.now);
    await insertAttempt(tx, row, {
      ...decision,
      outcome: decision.status,
      detail: decision.reason,
      finished: true,
    });
    return tx
      .updateTable('notifications')
      .set({
        status: decision.status,
        status_reason: decision.reason,
        channel: decision.channel ?? null,
        recipient: decision.recipient ?? null,
        attempts: row.attempts + 1,
        updated_at: decision.now.toISOString(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

/**
 * A notification left `sending` by an attempt that never reported (its worker died, or it is
 * still waiting on the provider) becomes `unknown`, whatever is asked of it next: a lost message
 * is visible, a doubled one could not be undone.
 */
async function settleAbandonedSend(tx: Kysely<Database>, row: NotificationRow, now: Date): Promise<NotificationRow> {
  const at = now.toISOString();
  const reason = 'an earlier attempt never reported its outcome; not resent, so it cannot arrive twice';
  await tx
    .updateTable('notification_attempts')
    .set({ outcome: 'unknown', finished_at: at, detail: reason })
    .where('notification_id', '=', row.id)
    .where('outcome', '=', 'sending')
    .execute();
  return tx
    .updateTable('notifications')
    .set({ status: 'unknown', status_reason: reason, updated_at: at })
    .where('id', '=', row.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export type BeginResult =
  | { proceed: true; attemptId: number; row: NotificationRow }
  | { proceed: false; row: NotificationRow };

/** Claims the right to send. A settled notification is not sent again, nor one left `sending`. */
export async function beginSend(
  db: Kysely<Database>,
  id: number,
  send: { channel: Channel; recipient: string } & AttemptContext,
): Promise<BeginResult> {
  return writeTransaction(db, async (tx) => {
    const row = await tx.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    if (SETTLED_STATUSES.includes(row.status)) return { proceed: false, row };
    const at = send.now.toISOString();
    if (row.status === 'sending') return { proceed: false, row: await settleAbandonedSend(tx, row, send.now) };
    const attemptId = await insertAttempt(tx, row, { ...send, outcome: 'sending', finished: false });
    const claimed = await tx
      .updateTable('notifications')
      .set({
        status: 'sending',
        status_reason: null,
        channel: send.channel,
        recipient: send.recipient,
        attempts: row.attempts + 1,
        updated_at: at,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { proceed: true, attemptId, row: claimed };
  });
}

/** Records what the provider said. A late `sent` still wins over `unknown`: it is the truth. */
export async function finishSend(
  db: Kysely<Database>,
  id: number,
  attemptId: number,
  result: { outcome: 'sent' | 'failed'; providerId?: string; error?: string; now: Date },
): Promise<NotificationRow> {
  const at = result.now.toISOString();
  return writeTransaction(db, async (tx) => {
    await tx
      .updateTable('notification_attempts')
      .set({ outcome: result.outcome, finished_at: at, provider_id: result.providerId ?? null, detail: result.error ?? null })
      .where('id', '=', attemptId)
      .execute();
    const row = await tx.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    if (result.outcome === 'failed' && row.status !== 'sending') return row;
    return tx
      .updateTable('notifications')
      .set({
        status: result.outcome,
        status_reason: result.error ?? null,
        provider_id: result.providerId ?? row.provider_id,
        sent_at: result.outcome === 'sent' ? at : row.sent_at,
        updated_at: at,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

async function insertAttempt(
  tx: Kysely<Database>,
  row: NotificationRow,
  a: {
    outcome: AttemptOutcome;
    channel?: Channel;
    recipient?: string;
    detail?: string;
    finished: boolean;
  } & AttemptContext,
): Promise<number> {
  const at = a.now.toISOString();
  const inserted = await tx
    .insertInto('notification_attempts')
    .values({
      notification_id: row.id,
      attempt: row.attempts + 1,
      started_at: at,
      finished_at: a.finished ? at : null,
      channel: a.channel ?? null,
      recipient: a.recipient ?? null,
      outcome: a.outcome,
      detail: a.detail ?? null,
      provider_id: null,
      workflow_id: a.workflowId ?? null,
      activity_attempt: a.activityAttempt ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return inserted.id;
}

/** Every held notification (the digest carries them all, so no limit); the caller orders them. */
export function listHeld(db: Kysely<Database>): Promise<NotificationRow[]> {
  return db.selectFrom('notifications').selectAll().where('status', '=', 'held').where('archived', '=', 0).execute();
}

export async function countNotifications(db: Kysely<Database>, status: NotificationStatus): Promise<number> {
  const row = await db
    .selectFrom('notifications')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', status)
    .where('archived', '=', 0)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Marks held notifications as carried by a sent digest. */
export async function markDelivered(db: Kysely<Database>, ids: readonly number[], digestKey: string, now: Date): Promise<number> {
  if (ids.length === 0) return 0;
  const at = now.toISOString();
  const result = await db
    .updateTable('notifications')
    .set({ status: 'delivered', delivered_in: digestKey, delivered_at: at, updated_at: at })
    .where('id', 'in', ids)
    .where('status', '=', 'held')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function listNotifications(
  db: Kysely<Database>,
  filter: { status?: NotificationStatus; type?: string; since?: Date; limit?: number } = {},
): Promise<NotificationRow[]> {
  let query = db.selectFrom('notifications').selectAll().where('archived', '=', 0);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.type) query = query.where('type', '=', filter.type);
  if (filter.since) query = query.where('created_at', '>=', filter.since.toISOString());
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 100).execute();
}

export function listAttempts(db: Kysely<Database>, notificationId: number): Promise<NotificationAttemptRow[]> {
  return db.selectFrom('notification_attempts').selectAll().where('notification_id', '=', notificationId).orderBy('id').execute();
}

const SEVERITY_RANK: Record<Severity, number> = { SEV0: 0, SEV1: 1, WARN: 2, INFO: 3 };

export function bySeverityThenRecency<T extends { severity: Severity; created_at: string; id: number }>(a: T, b: T): number {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.created_at.localeCompare(a.created_at) || b.id - a.id;
}
