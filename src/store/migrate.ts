/**
 * Versioned migrations, in code (they travel inside a bundle or image with nothing to copy).
 * Each migration is plain SQL written for both dialects from one description.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect, Store } from './db';
import { OPS_TABLES } from './schema';

interface Types {
  id: string;
  ts: string;
  json: string;
}

const TYPES: Record<Dialect, Types> = {
  sqlite: { id: 'integer primary key autoincrement', ts: 'text', json: 'text' },
  postgres: { id: 'bigserial primary key', ts: 'timestamptz', json: 'jsonb' },
};

const NO_DELETE = 'ops data is never deleted: archive it instead';

function coreTables(t: Types): string[] {
  const flag = (name: string, dflt = '') => `${name} integer not null ${dflt} check (${name} in (0, 1))`;
  return [
    `create table agent_controls (
       id integer primary key check (id = 1),
       state ${t.json} not null,
       version integer not null,
       updated_at ${t.ts} not null,
       updated_by text not null,
       reason text not null)`,
    `create table agent_audit_log (
       id ${t.id},
       ts ${t.ts} not null,
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
       archived_at ${t.ts})`,
    `create index agent_audit_log_action_ts on agent_audit_log (action, ts)`,
    `create index agent_audit_log_ts on agent_audit_log (ts)`,
    `create table incidents (
       id ${t.id},
       created_at ${t.ts} not null,
       type text not null,
       severity text not null check (severity in ('SEV0', 'SEV1', 'WARN', 'INFO')),
       title text not null,
       body text not null default '',
       status text not null default 'open' check (status in ('open', 'resolved')),
       dedupe_key text,
       job text,
       related_workflow_id text,
       resolved_at ${t.ts},
       ${flag('archived', 'default 0')},
       archived_at ${t.ts})`,
    `create index incidents_dedupe on incidents (dedupe_key, created_at)`,
    `create index incidents_status on incidents (status, type, job)`,
    `create table dead_letters (
       id ${t.id},
       created_at ${t.ts} not null,
       job text not null,
       workflow_type text not null,
       workflow_id text not null,
       input ${t.json} not null,
       error text not null,
       category text not null,
       attempts integer not null,
       status text not null default 'open' check (status in ('open', 'replaying', 'resolved', 'exhausted')),
       replay_attempts integer not null default 0,
       next_attempt_at ${t.ts},
       last_replay_workflow_id text,
       last_replayed_at ${t.ts},
       last_replay_error text,
       resolved_at ${t.ts},
       ${flag('archived', 'default 0')},
       archived_at ${t.ts})`,
    `create index dead_letters_due on dead_letters (category, status, next_attempt_at)`,
    `create table health_checks (
       id ${t.id},
       ts ${t.ts} not null,
       workflow_id text not null,
       ${flag('healthy')},
       checks ${t.json} not null)`,
  ];
}

function refuseDeletes(dialect: Dialect): string[] {
  if (dialect === 'sqlite') {
    return OPS_TABLES.map(
      (table) => `create trigger ${table}_no_delete before delete on ${table}
         begin select raise(abort, '${NO_DELETE} (${table})'); end`,
    );
  }
  return [
    `create or replace function ops_refuse_delete() returns trigger language plpgsql as $$
       begin raise exception '${NO_DELETE} (%)', tg_table_name using errcode = 'restrict_violation'; end $$`,
    ...OPS_TABLES.flatMap((table) => [
      `create trigger ${table}_no_delete before delete on ${table} for each row execute function ops_refuse_delete()`,
      `create trigger ${table}_no_truncate before truncate on ${table} for each statement execute function ops_refuse_delete()`,
    ]),
  ];
}

function migrations(dialect: Dialect): Record<string, Migration> {
  const run = (statements: string[]) => async (db: Kysely<unknown>) => {
    for (const statement of statements) await sql.raw(statement).execute(db);
  };
  return {
    '001_ops_core': { up: run([...coreTables(TYPES[dialect]), ...refuseDeletes(dialect)]) },
  };
}

/** Applies pending migrations; returns the names applied now. */
export async function migrateToLatest(store: Store): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(store.dialect) };
  const migrator = new Migrator({ db: store.db, provider, migrationTableSchema: store.schema });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Store migration ${failed} failed: ${(error as Error).message ?? String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
