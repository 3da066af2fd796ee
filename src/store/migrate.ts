/**
 * Versioned migrations, in code: they travel inside a bundle or image with no directory to scan.
 * Each migration is SQL written for both dialects from one description.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationResult } from 'kysely';
import type { Dialect, Store } from './db';
import { DEAD_LETTER_STATUSES, INCIDENT_SEVERITIES, OPS_TABLES } from './schema';
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

function coreTables(t: Types): string[] {
  const flag = (name: string, dflt = '') => `${name} integer not null ${dflt} check (${name} in (0, 1))`;
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

function refuseDeletes(dialect: Dialect): string[] {
  if (dialect === 'sqlite') {
    return OPS_TABLES.map(
      (table) => `create trigger ${table}_no_delete before delete on ${table}
         begin select raise(abort, '${NO_DELETE_MESSAGE} (${table})'); end`,
    );
  }
  return [
    `create or replace function ops_refuse_delete() returns trigger language plpgsql as $$
       begin raise exception '${NO_DELETE_MESSAGE} (%)', tg_table_name using errcode = 'restrict_violation'; end $$`,
    ...OPS_TABLES.flatMap((table) => [
      `create trigger ${table}_no_delete before delete on ${table} for each row execute function ops_refuse_delete()`,
      `create trigger ${table}_no_truncate before truncate on ${table} for each statement execute function ops_refuse_delete()`,
    ]),
  ];
}

/** Names sort in the order they apply; never edit one that has shipped, add the next. */
function migrations(dialect: Dialect): Record<string, Migration> {
  const run = (statements: string[]) => async (db: Kysely<unknown>) => {
    for (const statement of statements) await sql.raw(statement).execute(db);
  };
  return {
    '001_ops_core': { up: run([...coreTables(TYPES[dialect]), ...refuseDeletes(dialect)]) },
  };
}

/** Applies pending migrations; returns the names applied now (none when already up to date). */
export async function migrateToLatest(store: Store): Promise<string[]> {
  const provider = { getMigrations: async () => migrations(store.dialect) };
  const migrate = async (db: Kysely<unknown>): Promise<string[]> => {
    const { error, results } = await new Migrator({ db, provider, migrationTableSchema: store.schema }).migrateToLatest();
    // Thrown, not returned, so that the SQLite transaction below rolls back.
    if (error) throw new Error(`Store migration failed (${failedStep(results)}): ${errorMessage(error)}`);
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  };
  const db = store.db as unknown as Kysely<unknown>;
  // Kysely's Migrator locks and wraps in a transaction on PostgreSQL only; on SQLite one
  // immediate transaction gives both, so two processes starting together cannot race.
  return store.dialect === 'sqlite' ? writeTransaction(db, migrate) : migrate(db);
}

function failedStep(results: MigrationResult[] | undefined): string {
  const failed = results?.find((r) => r.status === 'Error');
  return failed ? `at ${failed.migrationName}` : 'before any migration ran';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
