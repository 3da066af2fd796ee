import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The PostgreSQL schema in use, when not the default. */
  schema?: string;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** postgres://... ; without it, a SQLite file at sqlitePath. */
  databaseUrl?: string;
  sqlitePath: string;
  /** PostgreSQL schema to use (created if absent); tests use a fresh one each. */
  pgSchema?: string;
}

/** Per-pool type parsers so app code sees the same shapes on PostgreSQL as on SQLite. */
function uniformTypes(): pg.CustomTypesConfig {
  const OIDS = { int8: 20, json: 114, timestamptz: 1184, jsonb: 3802 };
  return {
    getTypeParser: ((oid: number, format?: string) => {
      if (oid === OIDS.int8) return (v: string) => Number(v);
      if (oid === OIDS.timestamptz) return (v: string) => new Date(v).toISOString();
      if (oid === OIDS.json || oid === OIDS.jsonb) return (v: string) => v;
      return pg.types.getTypeParser(oid, format as 'text');
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  if (opts.databaseUrl) {
    if (opts.pgSchema && !/^[a-z_][a-z0-9_]*$/.test(opts.pgSchema)) throw new Error(`bad schema name: ${opts.pgSchema}`);
    if (opts.pgSchema) {
      const admin = new pg.Client({ connectionString: opts.databaseUrl });
      await admin.connect();
      try {
        await admin.query(`create schema if not exists ${opts.pgSchema}`);
      } finally {
        await admin.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: 10,
      types: uniformTypes(),
      ...(opts.pgSchema ? { options: `-c search_path=${opts.pgSchema}` } : {}),
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', schema: opts.pgSchema, close: () => db.destroy() };
  }
  mkdirSync(dirname(opts.sqlitePath), { recursive: true });
  const sqlite = new BetterSqlite3(opts.sqlitePath);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}
