/**
 * Versioned migrations, in code: they travel inside a bundle or image with no directory to scan.
 * Each migration is SQL written for both dialects from one description.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationResult } from 'kysely';
import type { Dialect, Store } from './db';
import {
  ADDRESS_KINDS,
  ATTEMPT_OUTCOMES,
  CHANNELS,
  CORE_TABLES,
  DEAD_LETTER_STATUSES,
  INCIDENT_SEVERITIES,
  MEMORY_AUTHORITIES,
  NOTIFICATION_ROUTES,
  NOTIFICATION_STATUSES,
  NOTIFY_TABLES,
  PROPOSAL_STATUSES,
  PROPOSAL_TABLES,
  SOURCE_NAMES,
  SYNC_TABLES,
  WATCHER_TABLES,
} from './schema';
import { writeTransaction } from './tx';

interface Types {
  id: string;
  json: string;
  /** A timestamp column. SQLite compares them as text, so only one spelling is accepted. */
  ts(column: string): string;
}

const ISO_UTC_GLOB = '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z';

const TYPES: Record<Dialect, Types> = {
  sqlite: {
    id: 'integer primary key autoincrement',
    json: 'text',
    ts: (column) => `${column} text check (${column} glob '${ISO_UTC_GLOB}')`,
  },
  postgres: { id: 'bigserial primary key', json: 'jsonb', ts: (column) => `${column} timestamptz` },
};

export const NO_DELETE_MESSAGE = 'ops data is never deleted: archive it instead';

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');
/** A 0/1 column. */
const flag = (name: string, dflt = '') => `${name} integer not null ${dflt} check (${name} in (0, 1))`;

function coreTables(t: Types): string[] {
  return [
    `create table agent_controls (
       id integer primary key check (id = 1),
       state ${t.json} not null,
       version integer not null,
       ${t.ts('updated_at')} not null,
       updated_by text not null,
       reason text not null)`,
    `create table agent_audit_log (
       id ${t.id},
       ${t.ts('ts')} not null,
       action text not null,
       action_type text not null,
       ${flag('success')},
       outcome text check (outcome in ('succeeded', 'skipped', 'failed')),
       error text,
       duration_ms integer,
       input_data ${t.json},
       output_data ${t.json},
       workflow_id text,
       actor text,
       reason text,
       ${flag('archived', 'default 0')},
       ${t.ts('archived_at')})`,
    `create index agent_audit_log_action_ts on agent_audit_log (action, ts)`,
    `create index agent_audit_log_ts on agent_audit_log (ts)`,
    `create table incidents (
       id ${t.id},
       ${t.ts('created_at')} not null,
       type text not null,
       severity text not null check (severity in (${list(INCIDENT_SEVERITIES)})),
       title text not null,
       body text not null default '',
       status text not null default 'open' check (status in ('open', 'resolved')),
       dedupe_key text,
       job text,
       related_workflow_id text,
       ${t.ts('resolved_at')},
       ${flag('archived', 'default 0')},
       ${t.ts('archived_at')})`,
    `create index incidents_dedupe on incidents (dedupe_key, created_at)`,
    `create index incidents_status on incidents (status, type, job)`,
    `create table dead_letters (
       id ${t.id},
       ${t.ts('created_at')} not null,
       job text not null,
       workflow_type text not null,
       workflow_id text not null,
       input ${t.json} not null,
       error text not null,
       category text not null,
       attempts integer not null,
       status text not null default 'open' check (status in (${list(DEAD_LETTER_STATUSES)})),
       replay_attempts integer not null default 0,
       ${t.ts('next_attempt_at')},
       last_replay_workflow_id text,
       ${t.ts('last_replayed_at')},
       last_replay_error text,
       ${t.ts('resolved_at')},
       ${flag('archived', 'default 0')},
       ${t.ts('archived_at')})`,
    `create index dead_letters_due on dead_letters (category, status, next_attempt_at)`,
    `create table health_checks (
       id ${t.id},
       ${t.ts('ts')} not null,
       workflow_id text not null,
       ${flag('healthy')},
       checks ${t.json} not null)`,
  ];
}

function syncTables(t: Types): string[] {
  const count = (name: string) => `${name} integer not null default 0`;
  return [
    `create table data_source_sync (
       source_name text primary key check (source_name in (${list(SOURCE_NAMES)})),
       status text not null default 'idle' check (status in ('idle', 'running')),
       ${t.ts('last_sync_started_at')},
       ${t.ts('last_sync_completed_at')},
       last_sync_success integer check (last_sync_success in (0, 1)),
       last_outcome text check (last_outcome in ('succeeded', 'skipped', 'failed')),
       ${count('items_synced')},
       ${count('pages_synced')},
       ${count('run_items')},
       ${count('run_pages')},
       cursor ${t.json},
       watermark ${t.json},
       ${count('version')},
       ${count('consecutive_failures')},
       last_error text,
       last_error_category text,
       lease_holder text,
       ${t.ts('lease_expires_at')},
       ${t.ts('updated_at')} not null)`,
    `create table memory_items (
       id ${t.id},
       key text not null,
       value ${t.json} not null,
       authority text not null check (authority in (${list(MEMORY_AUTHORITIES)})),
       source_type text not null,
       source_id text not null,
       content_hash text not null,
       version integer not null default 1,
       superseded_by integer references memory_items (id),
       superseded_reason text,
       ${t.ts('superseded_at')},
       ${t.ts('created_at')} not null,
       ${t.ts('updated_at')} not null,
       ${flag('archived', 'default 0')},
       ${t.ts('archived_at')})`,
    // One current row per key: an upsert targets it, a supersession retires it first.
    `create unique index memory_items_current on memory_items (key) where superseded_at is null`,
    `create index memory_items_source on memory_items (source_type, updated_at)`,
  ];
}

function notifyTables(t: Types): string[] {
  return [
    `create table comm_allowlist (
       id ${t.id},
       kind text not null check (kind in (${list(ADDRESS_KINDS)})),
       address text not null,
       label text,
       ${t.ts('added_at')} not null,
       added_by text not null,
       added_reason text not null,
       ${t.ts('removed_at')},
       removed_by text,
       removed_reason text)`,
    // One live entry per address; removed ones stay as history.
    `create unique index comm_allowlist_live on comm_allowlist (kind, address) where removed_at is null`,
    `create table notifications (
       id ${t.id},
       idempotency_key text not null unique,
       ${t.ts('created_at')} not null,
       ${t.ts('updated_at')} not null,
       workflow_id text,
       severity text not null check (severity in (${list(INCIDENT_SEVERITIES)})),
       type text not null,
       title text not null,
       body text not null,
       ${flag('requires_approval', 'default 0')},
       meta ${t.json},
       route text not null check (route in (${list(NOTIFICATION_ROUTES)})),
       channel text check (channel in (${list(CHANNELS)})),
       recipient text,
       status text not null check (status in (${list(NOTIFICATION_STATUSES)})),
       status_reason text,
       attempts integer not null default 0,
       provider_id text,
       ${t.ts('sent_at')},
       delivered_in text,
       ${t.ts('delivered_at')},
       incident_id integer,
       ${flag('archived', 'default 0')},
       ${t.ts('archived_at')})`,
    `create index notifications_status on notifications (status, created_at)`,
    `create index notifications_created on notifications (created_at)`,
    `create table notification_attempts (
       id ${t.id},
       notification_id integer not null,
       attempt integer not null,
       ${t.ts('started_at')} not null,
       ${t.ts('finished_at')},
       channel text check (channel in (${list(CHANNELS)})),
       recipient text,
       outcome text not null check (outcome in (${list(ATTEMPT_OUTCOMES)})),
       detail text,
       provider_id text,
       workflow_id text,
       activity_attempt integer)`,
    `create index notification_attempts_of on notification_attempts (notification_id, attempt)`,
    `create table api_calls (
       hour text not null,
       service text not null,
       calls integer not null,
       primary key (hour, service))`,
  ];
}

function refuseDeletes(dialect: Dialect, tables: readonly string[]): string[] {
  if (dialect === 'sqlite') {
    return tables.map(
      (table) => `create trigger ${table}_no_delete before delete on ${table}
         begin select raise(abort, '${NO_DELETE_MESSAGE} (${table})'); end`,
    );
  }
  return [
    `create or replace function ops_refuse_delete() returns trigger language plpgsql as $$
       begin raise exception '${NO_DELETE_MESSAGE} (%)', tg_table_name using errcode = 'restrict_violation'; end $$`,
    ...tables.flatMap((table) => [
      `create trigger ${table}_no_delete before delete on ${table} for each row execute function ops_refuse_delete()`,
      `create trigger ${table}_no_truncate before truncate on ${table} for each statement execute function ops_refuse_delete()`,
    ]),
  ];
}

export const AUDIT_APPEND_ONLY_MESSAGE = 'the audit log is append-only: a row is never changed, only archived once';
export const ALLOWLIST_NO_UPDATE_MESSAGE =
  'an allowlist entry is never changed: it can only be removed once (removed_at, removed_by and removed_reason together)';

/** The columns of the two tables as 004 leaves them: every one of them stays as it was. */
const AUDIT_COLUMNS = ['id', 'ts', 'action', 'action_type', 'success', 'outcome', 'error', 'duration_ms', 'input_data', 'output_data', 'workflow_id', 'actor', 'reason', 'run_id'];
const ALLOWLIST_COLUMNS = ['id', 'kind', 'address', 'label', 'added_at', 'added_by', 'added_reason'];

/**
 * UPDATE guards, the counterpart of refuseDeletes. An audit row may only be archived (once, by
 * the retention job); an allowlist entry may only be removed (once, stamped with who and why).
 * Any other change, or doing either twice, is refused by the database itself.
 */
function refuseEdits(dialect: Dialect): string[] {
  const archiving = `old.archived = 0 and new.archived = 1 and old.archived_at is null and new.archived_at is not null`;
  const removing = `old.removed_at is null and new.removed_at is not null and new.removed_by is not null and new.removed_reason is not null`;
  if (dialect === 'sqlite') {
    const unchanged = (columns: string[]) => columns.map((c) => `new.${c} is old.${c}`).join(' and ');
    return [
      `create trigger agent_audit_log_append_only before update on agent_audit_log
         when not (${archiving} and ${unchanged(AUDIT_COLUMNS)})
         begin select raise(abort, '${AUDIT_APPEND_ONLY_MESSAGE}'); end`,
      `create trigger comm_allowlist_remove_only before update on comm_allowlist
         when not (${removing} and ${unchanged(ALLOWLIST_COLUMNS)})
         begin select raise(abort, '${ALLOWLIST_NO_UPDATE_MESSAGE}'); end`,
    ];
  }
  // The whole row minus the columns the one allowed change sets: new columns are covered too.
  const rest = (row: string, columns: string[]) => `(to_jsonb(${row}) - ${columns.map((c) => `'${c}'`).join(' - ')})`;
  const guard = (name: string, allowed: string, changes: string[], message: string) => [
    `create or replace function ${name}() returns trigger language plpgsql as $$
       begin
         if ${allowed} and ${rest('new', changes)} = ${rest('old', changes)} then return new; end if;
         raise exception '${message} (%)', tg_table_name using errcode = 'restrict_violation';
       end $$`,
  ];
  return [
    ...guard('ops_audit_append_only', archiving, ['archived', 'archived_at'], AUDIT_APPEND_ONLY_MESSAGE),
    `create trigger agent_audit_log_append_only before update on agent_audit_log for each row execute function ops_audit_append_only()`,
    ...guard('ops_allowlist_remove_only', removing, ['removed_at', 'removed_by', 'removed_reason'], ALLOWLIST_NO_UPDATE_MESSAGE),
    `create trigger comm_allowlist_remove_only before update on comm_allowlist for each row execute function ops_allowlist_remove_only()`,
  ];
}

/**
 * Incidents get a subject and a lifecycle: one open incident per (type, subject), recurrences
 * counted on it, acknowledged and resolved with who and why. Acknowledged is an open incident with
 * acknowledged_at set: the status check of 001 stays as it is (SQLite cannot alter a check).
 */
function incidentLifecycle(t: Types): string[] {
  const add = (column: string) => `alter table incidents add column ${column}`;
  return [
    add('subject text'),
    add('occurrences integer not null default 1'),
    add(t.ts('last_seen_at')),
    add(t.ts('acknowledged_at')),
    add('acknowledged_by text'),
    add('acknowledged_reason text'),
    add('resolved_by text'),
    add('resolved_reason text'),
    // Why a new incident was not alerted (another of its type alerted within the hour); null when it was.
    add('alert_withheld text'),
    // The database itself keeps "one open incident per key", whatever races the callers have.
    `create unique index incidents_one_open on incidents (type, subject) where status = 'open' and subject is not null`,
    `create index incidents_type_created on incidents (type, created_at)`,
    `create index notifications_incident on notifications (incident_id)`,
  ];
}

/**
 * run_watchers' windows: requests per second (rate limits, failures, volume), and the failed
 * sends of the last minutes by time. Every index leads with time, so a window's read is a range.
 */
function apiRequestWindows(dialect: Dialect): string[] {
  const count = (name: string) => `${name} integer not null default 0`;
  return [
    `create table api_request_windows (
       at_second ${dialect === 'postgres' ? 'bigint' : 'integer'} not null,
       service text not null,
       endpoint text not null default '',
       ${count('requests')},
       ${count('throttled')},
       ${count('failed')},
       primary key (at_second, service, endpoint))`,
    // A service's first request (how much baseline it has) is one seek, not a scan from the start.
    `create index api_request_windows_service on api_request_windows (service, at_second)`,
    `create index notification_attempts_started on notification_attempts (started_at)`,
  ];
}

function proposalTables(t: Types): string[] {
  return [
    `create table proposals (
       id ${t.id},
       ${t.ts('created_at')} not null,
       kind text not null,
       subject text not null,
       title text not null,
       rationale text not null,
       evidence ${t.json} not null,
       confidence real not null check (confidence >= 0 and confidence <= 1),
       action ${t.json} not null,
       status text not null default 'pending' check (status in (${list(PROPOSAL_STATUSES)})),
       ${t.ts('expires_at')} not null,
       ${t.ts('decided_at')},
       decided_by text,
       decision_reason text,
       ${t.ts('applied_at')},
       apply_result text,
       ${flag('archived', 'default 0')},
       ${t.ts('archived_at')})`,
    // One pending proposal per (kind, subject), whatever races the scans have.
    `create unique index proposals_one_pending on proposals (kind, subject) where status = 'pending'`,
    `create index proposals_created on proposals (created_at)`,
    `create index proposals_status on proposals (status, kind, subject)`,
    `create table incident_mutes (
       id ${t.id},
       ${t.ts('created_at')} not null,
       type text not null,
       ${t.ts('muted_until')} not null,
       created_by text not null,
       reason text not null,
       proposal_id integer)`,
    `create index incident_mutes_type on incident_mutes (type, muted_until)`,
    // The digest counts the window's memory corrections: a range, not a scan of every item.
    `create index memory_items_superseded on memory_items (superseded_reason, superseded_at)`,
  ];
}

/** Names sort in the order they apply; never edit one that has shipped, add the next. */
function migrations(dialect: Dialect): Record<string, Migration> {
  const run = (statements: string[]) => async (db: Kysely<unknown>) => {
    for (const statement of statements) await sql.raw(statement).execute(db);
  };
  return {
    '001_ops_core': { up: run([...coreTables(TYPES[dialect]), ...refuseDeletes(dialect, CORE_TABLES)]) },
    '002_data_syncs': { up: run([...syncTables(TYPES[dialect]), ...refuseDeletes(dialect, SYNC_TABLES)]) },
    // The PostgreSQL delete-refusing function already exists; refuseDeletes re-creates it in place.
    '003_notifications': { up: run([...notifyTables(TYPES[dialect]), ...refuseDeletes(dialect, NOTIFY_TABLES)]) },
    '004_append_only': {
      up: run([
        // A job run's audit row is found by its Temporal run (recordRun writes it once per run).
        `alter table agent_audit_log add column run_id text`,
        `create index agent_audit_log_run on agent_audit_log (run_id)`,
        ...refuseEdits(dialect),
      ]),
    },
    '005_incident_lifecycle': { up: run(incidentLifecycle(TYPES[dialect])) },
    '006_api_request_windows': { up: run([...apiRequestWindows(dialect), ...refuseDeletes(dialect, WATCHER_TABLES)]) },
    // The watchers' dead-letter counts are ranges of these: their cost follows the window and the
    // open letters, not every letter ever written (resolved ones stay until archived, and after).
    '007_watcher_indexes': {
      up: run([
        `create index dead_letters_created on dead_letters (created_at)`,
        `create index dead_letters_resolved on dead_letters (resolved_at)`,
        `create index dead_letters_status on dead_letters (status)`,
      ]),
    },
    '008_proposals': { up: run([...proposalTables(TYPES[dialect]), ...refuseDeletes(dialect, PROPOSAL_TABLES)]) },
  };
}

/** Applies pending migrations; returns the names applied now (none when already up to date). */
export async function migrateToLatest(store: Store): Promise<string[]> {
  return migrateUpTo(store);
}

/** Applies pending migrations up to and including `target` (all when absent), e.g. to test an upgrade. */
export async function migrateUpTo(store: Store, target?: string): Promise<string[]> {
  const all = migrations(store.dialect);
  if (target !== undefined && !(target in all)) throw new Error(`Unknown migration "${target}": expected one of ${Object.keys(all).join(', ')}`);
  const provider = { getMigrations: async () => all };
  const migrate = async (db: Kysely<unknown>): Promise<string[]> => {
    const migrator = new Migrator({ db, provider, migrationTableSchema: store.schema });
    const { error, results } = await (target === undefined ? migrator.migrateToLatest() : migrator.migrateTo(target));
    // Thrown, not returned, so that the SQLite transaction below rolls back.
    if (error) throw new Error(`Store migration failed (${failedStep(results)}): ${errorMessage(error)}`);
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  };
  const db = store.db as unknown as Kysely<unknown>;
  // Kysely's Migrator locks and wraps in a transaction on PostgreSQL only; on SQLite one
  // immediate transaction gives both, so two processes starting together cannot race.
  return store.dialect === 'sqlite' ? writeTransaction(db, migrate) : migrate(db);
}

/**
 * The migrations this code has that the store has not applied, read without writing anything
 * (no lock, no migration table created): read-only callers refuse a store that is behind.
 */
export async function pendingMigrations(store: Store): Promise<string[]> {
  const provider = { getMigrations: async () => migrations(store.dialect) };
  const db = store.db as unknown as Kysely<unknown>;
  const all = await new Migrator({ db, provider, migrationTableSchema: store.schema }).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}

function failedStep(results: MigrationResult[] | undefined): string {
  const failed = results?.find((r) => r.status === 'Error');
  return failed ? `at ${failed.migrationName}` : 'before any migration ran';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
