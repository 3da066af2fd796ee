import { PostgresAdapter, sql, type Kysely, type Selectable } from 'kysely';
import type { Database, IncidentsTable } from './schema';

export type IncidentRow = Selectable<IncidentsTable>;
export type Severity = IncidentsTable['severity'];

export interface NewIncident {
  type: string;
  severity: Severity;
  title: string;
  body: string;
  job?: string;
  relatedWorkflowId?: string;
  /** With dedupeWindowMs: at most one incident with this key per window. */
  dedupeKey?: string;
  dedupeWindowMs?: number;
  now: Date;
}

/** Creates an incident unless one with the same dedupe key was created within the window. */
export async function raiseIncident(db: Kysely<Database>, incident: NewIncident): Promise<{ created: boolean; id: number }> {
  return db.transaction().execute(async (tx) => {
    const { dedupeKey, dedupeWindowMs, now } = incident;
    if (dedupeKey && dedupeWindowMs) {
      if (tx.getExecutor().adapter instanceof PostgresAdapter) {
        // Two workers raising the same incident at once: the second waits, then sees the first.
        await sql`select pg_advisory_xact_lock(hashtext(${dedupeKey}))`.execute(tx);
      }
      const existing = await tx
        .selectFrom('incidents')
        .select('id')
        .where('dedupe_key', '=', dedupeKey)
        .where('created_at', '>', new Date(now.getTime() - dedupeWindowMs).toISOString())
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (existing) return { created: false, id: existing.id };
    }
    const row = await tx
      .insertInto('incidents')
      .values({
        created_at: now.toISOString(),
        type: incident.type,
        severity: incident.severity,
        title: incident.title,
        body: incident.body,
        dedupe_key: dedupeKey ?? null,
        job: incident.job ?? null,
        related_workflow_id: incident.relatedWorkflowId ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { created: true, id: row.id };
  });
}

export async function listIncidents(
  db: Kysely<Database>,
  filter: { status?: 'open' | 'resolved'; limit?: number; includeArchived?: boolean } = {},
): Promise<IncidentRow[]> {
  let query = db.selectFrom('incidents').selectAll();
  if (filter.status) query = query.where('status', '=', filter.status);
  if (!filter.includeArchived) query = query.where('archived', '=', 0);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 100).execute();
}

export async function resolveIncident(db: Kysely<Database>, id: number, now: Date): Promise<void> {
  await db
    .updateTable('incidents')
    .set({ status: 'resolved', resolved_at: now.toISOString() })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .execute();
}

export async function hasOpenIncident(db: Kysely<Database>, filter: { type: string; job: string }): Promise<boolean> {
  const row = await db
    .selectFrom('incidents')
    .select('id')
    .where('type', '=', filter.type)
    .where('job', '=', filter.job)
    .where('status', '=', 'open')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
