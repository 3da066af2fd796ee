import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, IncidentsTable, IncidentStatus, Severity } from './schema';
import { auditDecision } from './audit';
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
  return writeTransaction(db, (tx) => raiseIn(tx, incident));
}

async function raiseIn(tx: Kysely<Database>, incident: NewIncident): Promise<{ created: boolean; id: number }> {
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

// ---------------------------------------------------------------------------------------------
// The lifecycle: one open incident per (type, subject), acknowledged and resolved with who and why.
// ---------------------------------------------------------------------------------------------

export type IncidentState = 'open' | 'acknowledged' | 'resolved';

/** What a watcher, a job's bookkeeping or health_monitor found. */
export interface IncidentReport {
  type: string;
  /** What it is about: a job name, `source:hubspot`, `endpoint:hubspot.search`, `store`... */
  subject: string;
  severity: Severity;
  title: string;
  body: string;
  job?: string;
  relatedWorkflowId?: string;
  now: Date;
}

export interface IncidentRaised {
  id: number;
  /** A new incident (false: a recurrence of the open one, counted on it). */
  created: boolean;
  /**
   * Whether to route an alert for it now: a new incident, unless another incident of its type was
   * created within the hour (the spec's "1 incident per type per hour"); then it is recorded, and
   * reaches the operator through the digest and `opsctl incidents`, not as an alert of its own.
   */
  alert: boolean;
  occurrences: number;
  severity: Severity;
}

/** How long a new incident of a type keeps further new ones of that type from alerting. */
export const INCIDENT_TYPE_ALERT_WINDOW_MS = 3600_000;

/** The caps every stored text obeys, whatever a caller (or an API response quoted in it) hands in. */
export const INCIDENT_LIMITS = { type: 100, subject: 300, title: 300, body: 4000, actor: 100, reason: 500 } as const;

const SEVERITY_RANK: Record<Severity, number> = { SEV0: 0, SEV1: 1, WARN: 2, INFO: 3 };
const INCIDENT_SEVERITY_ORDER: readonly Severity[] = ['SEV0', 'SEV1', 'WARN', 'INFO'];

/** The more urgent of two severities. */
export function worseSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] <= SEVERITY_RANK[b] ? a : b;
}

export function incidentState(row: Pick<IncidentRow, 'status' | 'acknowledged_at'>): IncidentState {
  if (row.status === 'resolved') return 'resolved';
  return row.acknowledged_at ? 'acknowledged' : 'open';
}

const clipText = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * Opens an incident for (type, subject), or counts a recurrence on the one already open: its
 * occurrences and last_seen go up, its title and body become the newest, and its severity becomes
 * the worse of the two (never downgraded while open). Holds with concurrent reporters on both
 * dialects (a key lock on PostgreSQL, the single write lock on SQLite, and a unique index).
 * A report from the run that already counted on the open incident (same related workflow) is not
 * counted twice, so a retried bookkeeping activity changes nothing.
 */
export async function reportIncident(db: Kysely<Database>, report: IncidentReport): Promise<IncidentRaised> {
  return writeTransaction(db, (tx) => reportIncidentIn(tx, report));
}

/** reportIncident inside a write transaction the caller already holds (e.g. a sync page's). */
export async function reportIncidentIn(tx: Kysely<Database>, report: IncidentReport): Promise<IncidentRaised> {
  const type = clipText(report.type, INCIDENT_LIMITS.type);
  const subject = clipText(report.subject, INCIDENT_LIMITS.subject);
  const at = report.now.toISOString();
  if (isPostgres(tx)) {
    await sql`select pg_advisory_xact_lock(hashtext(${`incident:${type}:${subject}`}))`.execute(tx);
    // Serialises the per-type alert window too: two new subjects of one type at once alert once.
    await sql`select pg_advisory_xact_lock(hashtext(${`incident-type:${type}`}))`.execute(tx);
  }
  const open = await tx
    .selectFrom('incidents')
    .select(['id', 'occurrences', 'severity', 'related_workflow_id', 'alert_withheld'])
    .where('type', '=', type)
    .where('subject', '=', subject)
    .where('status', '=', 'open')
    .executeTakeFirst();
  const title = clipText(report.title, INCIDENT_LIMITS.title);
  const body = clipText(report.body, INCIDENT_LIMITS.body);
  if (open) {
    const sameRun = report.relatedWorkflowId !== undefined && open.related_workflow_id === report.relatedWorkflowId;
    const occurrences = open.occurrences + (sameRun ? 0 : 1);
    const severity = worseSeverity(open.severity, report.severity);
    await tx
      .updateTable('incidents')
      .set({ occurrences, severity, title, body, last_seen_at: at, related_workflow_id: report.relatedWorkflowId ?? open.related_workflow_id })
      .where('id', '=', open.id)
      .execute();
    // The run that opened it, retried: its alert may have been lost with the first try, so it is
    // handed to the router again (which sends it once, keyed on the incident).
    const openedByThisRun = sameRun && open.occurrences === 1;
    const alert = openedByThisRun && open.alert_withheld === null;
    return { id: open.id, created: false, alert, occurrences, severity };
  }
  const alertedOfType = await alertedOfTypeWithinWindow(tx, type, report.severity, report.now);
  // A mute quiets the digest's noise; what must reach the operator now (SEV0/SEV1) is never muted.
  const mutable = report.severity === 'WARN' || report.severity === 'INFO';
  const mute = alertedOfType === undefined && mutable ? await activeMute(tx, type, report.now) : undefined;
  const row = await tx
    .insertInto('incidents')
    .values({
      created_at: at,
      last_seen_at: at,
      type,
      subject,
      severity: report.severity,
      title,
      body,
      dedupe_key: null,
      job: report.job ?? null,
      related_workflow_id: report.relatedWorkflowId ?? null,
      // Recorded, so that neither the lost-alert sweep nor a retry alerts it after all.
      alert_withheld:
        alertedOfType !== undefined
          ? `incident #${alertedOfType} of this type alerted within the hour`
          : mute
            ? `${type} muted until ${mute.muted_until} (${mute.reason})`
            : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, created: true, alert: alertedOfType === undefined && !mute, occurrences: 1, severity: report.severity };
}

/**
 * The incident of `type`, at least as urgent as `severity`, that alerted in the window ending at
 * `at`, if any. A less urgent one does not mute it: a job's INFO dead letter must not keep the
 * digest's SEV1 failure from alerting.
 */
async function alertedOfTypeWithinWindow(tx: Kysely<Database>, type: string, severity: Severity, at: Date): Promise<number | undefined> {
  const asUrgent = INCIDENT_SEVERITY_ORDER.filter((s) => SEVERITY_RANK[s] <= SEVERITY_RANK[severity]);
  const query = tx
    .selectFrom('incidents')
    .select('id')
    .where('type', '=', type)
    .where('severity', 'in', asUrgent)
    .where('created_at', '>', new Date(at.getTime() - INCIDENT_TYPE_ALERT_WINDOW_MS).toISOString())
    .where('created_at', '<=', at.toISOString())
    // Only one that alerted mutes: a withheld one must not stretch the window past its hour.
    .where('alert_withheld', 'is', null);
  return (await query.limit(1).executeTakeFirst())?.id;
}

/** Who changes an incident's state, and why; both land in the audit log. */
export interface IncidentDecision {
  actor: string;
  reason: string;
  now: Date;
}

export class IncidentStateError extends Error {
  override readonly name = 'IncidentStateError';
}

/** Acknowledges an open incident: it stays open (its resolver still resolves it) but is known. */
export async function acknowledgeIncident(db: Kysely<Database>, id: number, decision: IncidentDecision): Promise<IncidentRow> {
  return changeIncident(db, id, decision, 'incident.acknowledge', (row) => {
    if (row.status === 'resolved') return `incident #${id} is resolved already`;
    if (row.acknowledged_at) return `incident #${id} was acknowledged already by ${row.acknowledged_by ?? 'someone'}`;
    return {
      acknowledged_at: decision.now.toISOString(),
      acknowledged_by: clipText(decision.actor, INCIDENT_LIMITS.actor),
      acknowledged_reason: clipText(decision.reason, INCIDENT_LIMITS.reason),
    };
  });
}

/** Resolves an open (or acknowledged) incident by hand; its key may open a new incident after this. */
export async function resolveIncidentBy(db: Kysely<Database>, id: number, decision: IncidentDecision): Promise<IncidentRow> {
  return changeIncident(db, id, decision, 'incident.resolve', (row) => {
    if (row.status === 'resolved') return `incident #${id} is resolved already`;
    return resolution(decision);
  });
}

/**
 * The resolvers' side: resolves every open incident of `type` (of `subjects` when given, or all of
 * them except `keepSubjects`), with the reason, one audit row each. Returns what it resolved.
 */
export async function resolveIncidentsOf(
  db: Kysely<Database>,
  filter: { type: string; subjects?: readonly string[]; keepSubjects?: readonly string[] },
  decision: IncidentDecision,
): Promise<IncidentRow[]> {
  if (filter.subjects?.length === 0) return [];
  let query = db.selectFrom('incidents').select('id').where('type', '=', filter.type).where('status', '=', 'open');
  if (filter.subjects) query = query.where('subject', 'in', filter.subjects);
  if (filter.keepSubjects?.length) query = query.where((eb) => eb.or([eb('subject', 'is', null), eb('subject', 'not in', filter.keepSubjects!)]));
  const ids = await query.orderBy('id').execute();
  const resolved: IncidentRow[] = [];
  for (const { id } of ids) {
    // One at a time: a hand resolution of the same incident in between is not an error here.
    const row = await changeIncident(db, id, decision, 'incident.resolve', (r) => (r.status === 'resolved' ? undefined : resolution(decision))).catch(
      (err: unknown) => {
        if (err instanceof IncidentStateError) return undefined;
        throw err;
      },
    );
    if (row) resolved.push(row);
  }
  return resolved;
}

/** Resolves every open incident about `subject` of any of `types` (a job that succeeded, a source that synced). */
export async function resolveSubjectIncidents(
  db: Kysely<Database>,
  filter: { subject: string; types: readonly string[] },
  decision: IncidentDecision,
): Promise<IncidentRow[]> {
  if (filter.types.length === 0) return [];
  const open = await db
    .selectFrom('incidents')
    .select('type')
    .distinct()
    .where('status', '=', 'open')
    .where('subject', '=', filter.subject)
    .where('type', 'in', filter.types)
    .execute();
  const resolved: IncidentRow[] = [];
  for (const { type } of open) resolved.push(...(await resolveIncidentsOf(db, { type, subjects: [filter.subject] }, decision)));
  return resolved;
}

function resolution(decision: IncidentDecision) {
  return {
    status: 'resolved' as const,
    resolved_at: decision.now.toISOString(),
    resolved_by: clipText(decision.actor, INCIDENT_LIMITS.actor),
    resolved_reason: clipText(decision.reason, INCIDENT_LIMITS.reason),
  };
}

type IncidentChange = Partial<Pick<IncidentRow, 'status' | 'resolved_at' | 'resolved_by' | 'resolved_reason' | 'acknowledged_at' | 'acknowledged_by' | 'acknowledged_reason'>>;

/** Reads, checks and changes one incident with its audit row, in one transaction. `decide` returns a refusal or the change. */
async function changeIncident(
  db: Kysely<Database>,
  id: number,
  decision: IncidentDecision,
  action: string,
  decide: (row: IncidentRow) => IncidentChange | string | undefined,
): Promise<IncidentRow> {
  return writeTransaction(db, async (tx) => {
    if (isPostgres(tx)) await sql`select id from incidents where id = ${id} for update`.execute(tx);
    const row = await tx.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new IncidentStateError(`no incident #${id}`);
    const change = decide(row);
    if (typeof change === 'string') throw new IncidentStateError(change);
    if (change === undefined) throw new IncidentStateError(`incident #${id} needs no change`);
    await tx.updateTable('incidents').set(change).where('id', '=', id).execute();
    await auditDecision(tx, {
      action,
      actor: decision.actor,
      reason: decision.reason,
      now: decision.now,
      input: { id, type: row.type, subject: row.subject },
      output: { state: incidentState({ ...row, ...change }) },
    });
    return { ...row, ...change };
  });
}

/** The incidents not resolved yet (open or acknowledged), most urgent first; archived never. */
export async function listOpenIncidents(
  db: Kysely<Database>,
  filter: { type?: string; subject?: string; limit?: number } = {},
): Promise<IncidentRow[]> {
  let query = db.selectFrom('incidents').selectAll().where('status', '=', 'open').where('archived', '=', 0);
  if (filter.type) query = query.where('type', '=', filter.type);
  if (filter.subject) query = query.where('subject', '=', filter.subject);
  // Ordered in SQL, so a limit keeps the most urgent, not the newest.
  const rank = sql<number>`case severity when 'SEV0' then 0 when 'SEV1' then 1 when 'WARN' then 2 else 3 end`;
  return query.orderBy(rank).orderBy('id', 'desc').limit(filter.limit ?? 500).execute();
}

/** Open (and acknowledged) incidents by severity, for `opsctl status` and the morning call. */
export async function openIncidentCounts(db: Kysely<Database>): Promise<Record<Severity, { open: number; acknowledged: number }>> {
  const rows = await db
    .selectFrom('incidents')
    .select((eb) => ['severity', eb.fn.countAll<number>().as('n'), sql<number>`sum(case when acknowledged_at is null then 0 else 1 end)`.as('acked')])
    .where('status', '=', 'open')
    .where('archived', '=', 0)
    .groupBy('severity')
    .execute();
  const counts: Record<Severity, { open: number; acknowledged: number }> = {
    SEV0: { open: 0, acknowledged: 0 },
    SEV1: { open: 0, acknowledged: 0 },
    WARN: { open: 0, acknowledged: 0 },
    INFO: { open: 0, acknowledged: 0 },
  };
  for (const row of rows) {
    const acked = Number(row.acked ?? 0);
    counts[row.severity] = { open: Number(row.n) - acked, acknowledged: acked };
  }
  return counts;
}

/** The mute in force for `type` at `at`, if any. SEV0 and SEV1 are never muted: see muteIncidentType. */
async function activeMute(tx: Kysely<Database>, type: string, at: Date): Promise<{ muted_until: string; reason: string } | undefined> {
  return tx
    .selectFrom('incident_mutes')
    .select(['muted_until', 'reason'])
    .where('type', '=', type)
    .where('created_at', '<=', at.toISOString())
    .where('muted_until', '>', at.toISOString())
    .orderBy('muted_until', 'desc')
    .executeTakeFirst();
}

/**
 * Mutes a type's alerts until `until`: new incidents of it are still recorded (and listed, and
 * resolved), with the mute as the reason they were not alerted. Audited. Only WARN and INFO are
 * muted: a SEV0 or SEV1 incident of a muted type still alerts.
 */
export async function muteIncidentType(
  db: Kysely<Database>,
  mute: { type: string; until: Date; proposalId?: number } & IncidentDecision,
): Promise<number> {
  if (!(mute.until.getTime() > mute.now.getTime())) throw new RangeError('a mute must end after it starts');
  return writeTransaction(db, async (tx) => {
    const row = await tx
      .insertInto('incident_mutes')
      .values({
        created_at: mute.now.toISOString(),
        type: clipText(mute.type, INCIDENT_LIMITS.type),
        muted_until: mute.until.toISOString(),
        created_by: clipText(mute.actor, INCIDENT_LIMITS.actor),
        reason: clipText(mute.reason, INCIDENT_LIMITS.reason),
        proposal_id: mute.proposalId ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await auditDecision(tx, {
      action: 'incident.mute',
      actor: mute.actor,
      reason: mute.reason,
      now: mute.now,
      input: { type: mute.type, until: mute.until.toISOString(), proposal: mute.proposalId ?? null },
      output: { id: row.id },
      actionType: mute.actor === 'system' ? 'system' : 'operator',
    });
    return row.id;
  });
}
