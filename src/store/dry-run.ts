/**
 * The store's side of a dry run. An activity of a dry run runs inside one transaction that is
 * always rolled back: it reads the real data and even reads its own writes (so it behaves as the
 * real run would), but nothing it writes survives. Each write statement is recorded in the
 * ledger instead, so the run can say what it would have written.
 *
 * The activity code does not change: `store.db` is a proxy that, inside a dry-run scope, sends
 * every query to the scope's connection, and turns a nested transaction into a savepoint.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Kysely, type LogEvent } from 'kysely';
import type { DryRunWrite } from '../definitions';

export interface DryRunLedger {
  writes: Map<string, DryRunWrite>;
}

interface Scope {
  ledger: DryRunLedger;
  /** The Kysely bound to the scope's one connection, in its open transaction. */
  conn: Kysely<unknown>;
  savepoints: number;
}

const scopes = new AsyncLocalStorage<Scope>();

export function newDryRunLedger(): DryRunLedger {
  return { writes: new Map() };
}

/** Whether the caller runs inside a dry run's store scope. */
export function inDryRunScope(): boolean {
  return scopes.getStore() !== undefined;
}

/**
 * Runs `work` with every query of `proxy` (see dryRunAware) in one transaction on one connection,
 * rolled back at the end whatever happens. On SQLite the transaction takes the write lock at once
 * (BEGIN IMMEDIATE): a deferred one could not upgrade to a write after another process committed.
 */
export async function runInDryRunScope<DB, T>(raw: Kysely<DB>, dialect: 'sqlite' | 'postgres', ledger: DryRunLedger, work: () => Promise<T>): Promise<T> {
  if (inDryRunScope()) return work();
  return raw.connection().execute(async (conn) => {
    await sql.raw(dialect === 'sqlite' ? 'begin immediate' : 'begin').execute(conn);
    try {
      return await scopes.run({ ledger, conn: conn as Kysely<unknown>, savepoints: 0 }, work);
    } finally {
      // Nothing of a dry run is kept; a failed rollback (a lost connection) kept nothing either.
      await sql.raw('rollback').execute(conn).catch(() => undefined);
    }
  });
}

/** A transaction inside the scope: a savepoint, so a failed one undoes its own part only, as a real one would. */
async function inSavepoint<T>(scope: Scope, db: unknown, work: (tx: never) => Promise<T>): Promise<T> {
  const name = `ops_dry_run_${++scope.savepoints}`;
  await sql.raw(`savepoint ${name}`).execute(scope.conn);
  try {
    const result = await work(db as never);
    await sql.raw(`release savepoint ${name}`).execute(scope.conn);
    return result;
  } catch (err) {
    await sql.raw(`rollback to savepoint ${name}`).execute(scope.conn).catch(() => undefined);
    throw err;
  }
}

/**
 * `db` as the store hands it out: outside a dry-run scope it is `db` itself; inside one, every
 * query goes to the scope's connection. `transaction()` and `connection()` become savepoints on it.
 */
export function dryRunAware<DB>(db: Kysely<DB>): Kysely<DB> {
  const proxy: Kysely<DB> = new Proxy(db, {
    get(target, prop) {
      const scope = scopes.getStore();
      if (!scope) {
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      if (prop === 'transaction') {
        const builder = {
          execute: <T>(work: (tx: never) => Promise<T>) => inSavepoint(scope, proxy, work),
          setIsolationLevel: () => builder,
          setAccessMode: () => builder,
        };
        return () => builder;
      }
      if (prop === 'connection') return () => ({ execute: <T>(work: (conn: never) => Promise<T>) => work(proxy as never) });
      const value = Reflect.get(scope.conn, prop, scope.conn) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(scope.conn) : value;
    },
  });
  return proxy;
}

const WRITE_STATEMENT = /^\s*(insert\s+into|update|delete\s+from)\s+(?:"?\w+"?\.)?"?(\w+)"?/i;
const CTE_WRITE = /\)\s*(insert\s+into|update|delete\s+from)\s+(?:"?\w+"?\.)?"?(\w+)"?/i;

/** Kysely's log hook: a write run inside a dry-run scope goes into its ledger (it is rolled back). */
export function noteDryRunWrite(event: LogEvent): void {
  const scope = scopes.getStore();
  if (!scope || event.level !== 'query') return;
  const text = event.query.sql;
  const match = WRITE_STATEMENT.exec(text) ?? (/^\s*with\b/i.test(text) ? CTE_WRITE.exec(text) : null);
  if (!match) return;
  const verb = match[1]!.toLowerCase();
  const op: DryRunWrite['op'] = verb.startsWith('insert') ? 'insert' : verb.startsWith('update') ? 'update' : 'delete';
  const table = match[2]!;
  const key = `${table} ${op}`;
  const entry = scope.ledger.writes.get(key) ?? { table, op, statements: 0 };
  entry.statements += 1;
  scope.ledger.writes.set(key, entry);
}
