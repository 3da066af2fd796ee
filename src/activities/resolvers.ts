/**
 * periodic_scan's step 5, "update incidents": every incident type that is not a watcher's has a
 * resolver here, which says whether what the incident reported has cleared, and why. Watchers
 * resolve their own types in run_watchers. A type with no entry is never resolved here (only by
 * hand), so each producer's type must be listed: the table is the one place to look.
 */
import type { Kysely } from 'kysely';
import { ERROR_CATEGORIES } from '../policies';
import { SOURCE_NAMES, type SourceName } from '../sources';
import { IncidentStateError, listOpenIncidents, resolveIncidentBy, type Database, type IncidentRow } from '../store';
import type { ActivityDeps } from './deps';
import { N8N_WORKFLOW_FAILURES } from './sources/n8n';

/** Why an incident cleared; undefined: it has not. */
type Check = (db: Kysely<Database>, incident: IncidentRow) => Promise<string | undefined>;

export interface Resolver {
  /** The incident types it resolves. */
  types: readonly string[];
  cleared: Check;
}

export interface IncidentResolved {
  id: number;
  type: string;
  subject: string | null;
  reason: string;
}

export interface IncidentsUpdated {
  /** Open incidents of resolvable types looked at. */
  checked: number;
  /** Types whose resolver failed this time (logged; the others ran). */
  failed: string[];
  /** What was resolved, with the reason (at most MAX_LISTED; `resolvedCount` has them all). */
  resolved: IncidentResolved[];
  resolvedCount: number;
}

/** Bounds the activity's result in the workflow history. */
const MAX_LISTED = 50;
/** Open incidents looked at per type and run; the dedupe keeps far fewer open. */
const MAX_PER_TYPE = 500;

/** Since when the incident has not recurred: what cleared it must be newer. */
const lastSeen = (incident: IncidentRow): string => incident.last_seen_at ?? incident.created_at;

/** The job an incident is about: its subject (lifecycle rows), or its job column (rows from before). */
const jobOf = (incident: IncidentRow): string | undefined =>
  incident.subject && !incident.subject.startsWith('source:') ? incident.subject : (incident.job ?? undefined);

/** The source an incident is about: `source:<name>`, or (rows from before) its sync job's name. */
function sourceOf(incident: IncidentRow): SourceName | undefined {
  const name = incident.subject?.startsWith('source:') ? incident.subject.slice('source:'.length) : incident.job?.replace(/^sync_/, '');
  return SOURCE_NAMES.find((s) => s === name);
}

const iso = (at: string): string => new Date(at).toISOString();

async function jobSucceededSince(db: Kysely<Database>, job: string, since: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('agent_audit_log')
    .select(['ts', 'workflow_id'])
    .where('action', '=', job)
    .where('outcome', '=', 'succeeded')
    .where('ts', '>', since)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? `${job} succeeded at ${iso(row.ts)} (${row.workflow_id ?? 'no workflow'})` : undefined;
}

async function sourceSyncedSince(db: Kysely<Database>, source: SourceName, since: string): Promise<string | undefined> {
  const row = await db.selectFrom('data_source_sync').selectAll().where('source_name', '=', source).executeTakeFirst();
  if (!row || row.consecutive_failures !== 0 || row.last_sync_success !== 1 || row.updated_at <= since) return undefined;
  return `${source} synced at ${iso(row.updated_at)}`;
}

const jobSucceeded: Check = async (db, incident) => {
  const job = jobOf(incident);
  return job ? jobSucceededSince(db, job, lastSeen(incident)) : undefined;
};

/** `<category>_failure` is a job's (the job wrapper's) or a source's (a sync's). */
const categoryFailureCleared: Check = async (db, incident) => {
  if (incident.subject?.startsWith('source:')) {
    const source = sourceOf(incident);
    return source ? sourceSyncedSince(db, source, lastSeen(incident)) : undefined;
  }
  return jobSucceeded(db, incident);
};

export const RESOLVERS: readonly Resolver[] = [
  {
    types: ['dead_letter'],
    async cleared(db, incident) {
      const job = jobOf(incident);
      if (!job) return undefined;
      const waiting = await db
        .selectFrom('dead_letters')
        .select('id')
        .where('job', '=', job)
        .where('status', 'in', ['open', 'replaying', 'exhausted'])
        .where('archived', '=', 0)
        .limit(1)
        .executeTakeFirst();
      if (!waiting) return `every dead letter of ${job} is resolved`;
      return jobSucceededSince(db, job, lastSeen(incident));
    },
  },
  { types: ['consecutive_failures'], cleared: jobSucceeded },
  { types: ERROR_CATEGORIES.map((c) => `${c}_failure`), cleared: categoryFailureCleared },
  {
    types: ['source_unreachable'],
    async cleared(db, incident) {
      const source = sourceOf(incident);
      return source ? sourceSyncedSince(db, source, lastSeen(incident)) : undefined;
    },
  },
  {
    // Each complete n8n sync that sees the workflow fail counts on its incident; one after that did not.
    types: [N8N_WORKFLOW_FAILURES],
    async cleared(db, incident) {
      const row = await db.selectFrom('data_source_sync').select('last_sync_completed_at').where('source_name', '=', 'n8n').executeTakeFirst();
      const completed = row?.last_sync_completed_at;
      if (!completed || completed <= lastSeen(incident)) return undefined;
      return `n8n synced at ${iso(completed)} with no failure of workflow ${incident.subject ?? '?'}`;
    },
  },
  {
    types: ['health_alert'],
    async cleared(db, incident) {
      const row = await db.selectFrom('health_checks').select(['ts', 'healthy', 'workflow_id']).orderBy('id', 'desc').limit(1).executeTakeFirst();
      if (!row || row.healthy !== 1 || row.ts <= lastSeen(incident)) return undefined;
      return `health OK again at ${iso(row.ts)} (${row.workflow_id})`;
    },
  },
  {
    types: ['morning_call_failing'],
    async cleared(db, incident) {
      const row = await db
        .selectFrom('notifications')
        .select(['created_at', 'workflow_id'])
        .where('type', '=', 'morning_call')
        .where('status', 'in', ['sent', 'delivered'])
        .where('created_at', '>', lastSeen(incident))
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? `a morning call went through at ${iso(row.created_at)}` : undefined;
    },
  },
];

/** Every type the table resolves (a test checks each producer's types are in it). */
export const RESOLVED_TYPES: ReadonlySet<string> = new Set(RESOLVERS.flatMap((r) => r.types));

/**
 * Runs every resolver over the open incidents of its types and resolves what cleared, with the
 * reason (and an audit row each). One resolver that fails is logged and does not stop the others.
 */
export async function updateIncidents(deps: ActivityDeps, now: Date): Promise<IncidentsUpdated> {
  const db = deps.store.db;
  const resolved: IncidentResolved[] = [];
  const failed: string[] = [];
  let firstError: unknown;
  let checked = 0;
  for (const resolver of RESOLVERS) {
    for (const type of resolver.types) {
      try {
        const open = await listOpenIncidents(db, { type, limit: MAX_PER_TYPE });
        checked += open.length;
        for (const incident of open) {
          const reason = await resolver.cleared(db, incident);
          if (reason === undefined) continue;
          const row = await resolveIncidentBy(db, incident.id, { actor: 'periodic_scan', reason, now }).catch((err: unknown) => {
            // Resolved by hand in between: nothing to do.
            if (err instanceof IncidentStateError) return undefined;
            throw err;
          });
          if (row) resolved.push({ id: row.id, type: row.type, subject: row.subject, reason });
        }
      } catch (err) {
        failed.push(type);
        firstError ??= err;
        deps.logger.warn({ type, error: err instanceof Error ? err.message : String(err) }, 'incident resolver failed; the others still ran');
      }
    }
  }
  // Nothing ran at all (the store is down): a failure, retried like any activity's.
  if (failed.length === RESOLVED_TYPES.size) throw firstError;
  return { checked, failed, resolved: resolved.slice(0, MAX_LISTED), resolvedCount: resolved.length };
}

export function createResolverActivities(deps: ActivityDeps) {
  return {
    /** periodic_scan's step 5: resolves the incidents whose cause cleared. */
    async updateIncidents(): Promise<IncidentsUpdated> {
      return updateIncidents(deps, deps.now());
    },
  };
}
