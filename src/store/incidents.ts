import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, IncidentsTable, IncidentStatus, Severity } from './schema';
import { isPostgres, writeTransaction } from './tx';

export type IncidentRow = Selectable<IncidentsTable>;

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

/**
 * Creates an incident, unless one with the same dedupe key was created within the window: then
 * it returns that one with created=false. Holds with concurrent callers on both dialects.
 */
export async function raiseIncident(db: Kysely<Database>, incident: NewIncident): Promise<{ created: boolean; id: number }> {
  return writeTransaction(db, (tx) => raiseIncidentIn(tx, incident));
}

/** raiseIncident inside a write transaction the caller already holds (e.g. a sync page's). */
export async function raiseIncidentIn(tx: Kysely<Database>, incident: NewIncident): Promise<{ created: boolean; id: number }> {
  const { dedupeKey, dedupeWindowMs, now } = incident;
  if (dedupeKey && dedupeWindowMs) {
    // Row locks cannot guard a row that does not exist yet; a lock on the key can. SQLite
    // needs none: writeTransaction already holds its single write lock.
    if (isPostgres(tx)) await sql`select pg_advisory_xact_lock(hashtext(${dedupeKey}))`.execute(tx);
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
}

export async function getIncident(db: Kysely<Database>, id: number): Promise<IncidentRow | undefined> {
  return db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The newest incident raised under this dedupe key, whatever its age or status. */
export async function findIncidentByKey(db: Kysely<Database>, dedupeKey: string): Promise<IncidentRow | undefined> {
  return db.selectFrom('incidents').selectAll().where('dedupe_key', '=', dedupeKey).orderBy('id', 'desc').executeTakeFirst();
}

/** Newest first; archived incidents only when asked for. */
export async function listIncidents(
  db: Kysely<Database>,
  filter: { status?: IncidentStatus; limit?: number; includeArchived?: boolean } = {},
): Promise<IncidentRow[]> {
  let query = db.selectFrom('incidents').selectAll();
  if (filter.status) query = query.where('status', '=', filter.status);
  if (!filter.includeArchived) query = query.where('archived', '=', 0);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 100).execute();
}

/** Resolves an open incident; false when there is none open with that id. */
export async function resolveIncident(db: Kysely<Database>, id: number, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('incidents')
    .set({ status: 'resolved', resolved_at: now.toISOString() })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Whether `job` has an open incident of any of `types`. */
export async function hasOpenIncident(db: Kysely<Database>, filter: { types: readonly string[]; job: string }): Promise<boolean> {
  const row = await db
    .selectFrom('incidents')
    .select('id')
    .where('type', 'in', filter.types)
    .where('job', '=', filter.job)
    .where('status', '=', 'open')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
