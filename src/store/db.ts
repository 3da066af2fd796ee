import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, type LogEvent } from 'kysely';
import type pg from 'pg';
import { DEFAULT_BUSY_RETRY, retryWhileBusy, withBusyRetry, type BusyRetryPolicy } from './busy';
import type { Database } from './schema';
import { splitSqliteDialect } from './sqlite-split';
import { QueryTimings } from './timing';
import { dryRunAware, noteDryRunWrite, runInDryRunScope, type DryRunLedger } from './dry-run';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The PostgreSQL schema in use, when not the default. */
  schema?: string;
  /** How long this store's queries took, as they ran (the performance watcher reads it). */
  timing: QueryTimings;
  close(): Promise<void>;
  /**
   * Runs `work` as a dry run: every query of `db` in one transaction that is rolled back, each
   * write recorded in `ledger` (store/dry-run.ts).
   */
  runDryRun<T>(ledger: DryRunLedger, work: () => Promise<T>): Promise<T>;
}

export interface StoreOptions {
  /** postgres://... ; without it, a SQLite file at sqlitePath. */
  databaseUrl?: string;
  sqlitePath: string;
  /** PostgreSQL schema to use (created if absent); tests use a fresh one each. */
  pgSchema?: string;
  /**
   * An idle pooled connection failed (e.g. PostgreSQL restarted). pg drops that connection and
   * the next query reconnects, but an unheard 'error' event would crash the process.
   */
  onPoolError?: (err: Error) => void;
  /** How long a caller waits (asynchronously) for another process's SQLite lock; see busy.ts. */
  busyRetry?: BusyRetryPolicy;
}

const OID = { int8: 20, json: 114, timestamptz: 1184, jsonb: 3802 } as const;

/** Per-pool (never global) parsers, so app code sees the same shapes as on SQLite. */
function uniformTypes(types: typeof pg.types): pg.CustomTypesConfig {
  const getTypeParser = (oid: number, format?: 'text' | 'binary') => {
    if (oid === OID.int8) return (v: string) => Number(v);
    if (oid === OID.timestamptz) return (v: string) => new Date(v).toISOString();
    if (oid === OID.json || oid === OID.jsonb) return (v: string) => v;
    return types.getTypeParser(oid, format ?? 'text');
  };
  return { getTypeParser } as pg.CustomTypesConfig;
}

const PG_CONNECT_TIMEOUT_MS = 30_000;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openStore(opts: StoreOptions): Promise<Store> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : openSqlite(opts.sqlitePath, opts.busyRetry ?? DEFAULT_BUSY_RETRY);
}

async function openPostgres(url: string, opts: StoreOptions): Promise<Store> {
  const schema = opts.pgSchema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`Invalid PostgreSQL schema name "${schema}": use lower-case letters, digits and _`);
  }
  if (schema) await createSchema(url, schema);
  // Loaded by the dialect in use only: a SQLite process never holds the PostgreSQL driver, and back.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // A server that never answers (a dropped route, a full pool) fails the caller instead of
    // hanging it: 'Store unavailable', category database, and the caller's retry policy decides.
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    types: uniformTypes(pg.types),
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  pool.on('error', opts.onPoolError ?? (() => undefined));
  // A connection lost while a client is checked out (mid-transaction) emits 'error' on that client,
  // which the pool only listens to while it is idle: unheard, it would crash the process. Its
  // queries fail with the same error, and the caller's retry policy decides what happens next.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const timing = new QueryTimings();
  const raw = new Kysely<Database>({
    dialect: withBusyRetry(new PostgresDialect({ pool }), opts.busyRetry ?? DEFAULT_BUSY_RETRY),
    log: logHook(timing),
  });
  return {
    db: dryRunAware(raw),
    dialect: 'postgres',
    schema,
    timing,
    close: () => raw.destroy(),
    runDryRun: (ledger, work) => runInDryRunScope(raw, 'postgres', ledger, work),
  };
}

async function createSchema(url: string, schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create schema if not exists ${schema}`);
  } finally {
    await admin.end();
  }
}

async function openSqlite(path: string, busyRetry: BusyRetryPolicy): Promise<Store> {
  mkdirSync(dirname(path), { recursive: true });
  // Never wait inside SQLite: better-sqlite3 would block the event loop for the whole wait.
  // withBusyRetry waits between tries asynchronously instead.
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const writer = new BetterSqlite3(path, { timeout: 0 });
  let reader: BetterSqlite3.Database | undefined;
  try {
    // Switching a new file to WAL needs its lock too (several processes may open it at once).
    const deadline = performance.now() + busyRetry.maxWaitMs;
    await retryWhileBusy(async () => writer.pragma('journal_mode = WAL'), deadline, busyRetry);
    writer.pragma('foreign_keys = ON');
    // Plain reads go to a connection of their own, so they never queue behind a waiting write.
    reader = new BetterSqlite3(path, { timeout: 0 });
    reader.pragma('query_only = ON');
  } catch (err) {
    reader?.close();
    writer.close();
    throw err;
  }
  const timing = new QueryTimings();
  const raw = new Kysely<Database>({ dialect: withBusyRetry(splitSqliteDialect(writer, reader), busyRetry), log: logHook(timing) });
  return {
    db: dryRunAware(raw),
    dialect: 'sqlite',
    timing,
    close: () => raw.destroy(),
    runDryRun: (ledger, work) => runInDryRunScope(raw, 'sqlite', ledger, work),
  };
}

/** Every query is timed (the performance watcher); a dry run's writes are also recorded. */
function logHook(timing: QueryTimings): (event: LogEvent) => void {
  return (event) => {
    timing.onLog(event);
    noteDryRunWrite(event);
  };
}
