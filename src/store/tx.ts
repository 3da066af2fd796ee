import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { inDryRunScope } from './dry-run';

export function isPostgres<DB>(db: Kysely<DB>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * A transaction for read-then-write work. On SQLite it starts with BEGIN IMMEDIATE: a plain
 * (deferred) BEGIN lets two processes on the same file read the same snapshot, and the second
 * to write then fails with SQLITE_BUSY instead of waiting its turn under busy_timeout.
 * On PostgreSQL it is an ordinary transaction; callers add the locks they need.
 */
export async function writeTransaction<DB, T>(db: Kysely<DB>, work: (tx: Kysely<DB>) => Promise<T>): Promise<T> {
  // A dry run is already in a transaction: the store's db makes this one a savepoint in it.
  if (isPostgres(db) || inDryRunScope()) return db.transaction().execute(work);
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const result = await work(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (err) {
      // The original error is the one worth reporting; a failed rollback adds nothing.
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}
