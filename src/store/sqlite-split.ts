/**
 * SQLite with two connections: one for writes and transactions (behind Kysely's mutex, as
 * before), one for plain reads. In WAL mode a read never waits for a writer, so the reads that
 * must stay prompt (the kill-switch check at the activity boundary, a job reading the controls
 * when it starts) are not queued behind a write that is waiting out another process's lock.
 *
 * A statement goes to the reader only when it is a SELECT built by Kysely and the acquired
 * connection has not written yet; from its first other statement (BEGIN included) everything goes
 * to the writer, so a transaction reads its own writes.
 */
import {
  CompiledQuery,
  SelectQueryNode,
  SqliteDialect,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type SqliteDatabase,
} from 'kysely';
import { StoreUnavailableError } from '../errors';
import type { WaitBounded } from './busy';

class SplitConnection implements DatabaseConnection, WaitBounded {
  private writer?: DatabaseConnection;
  private remainingMs?: () => number;

  boundWait(remainingMs: () => number): void {
    this.remainingMs = remainingMs;
  }

  constructor(
    private readonly readerDriver: Driver,
    private readonly writerDriver: Driver,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.writer && SelectQueryNode.is(query.query)) {
      const reader = await this.readerDriver.acquireConnection();
      try {
        return await reader.executeQuery<R>(query);
      } finally {
        await this.readerDriver.releaseConnection(reader);
      }
    }
    return (await this.writerConnection()).executeQuery<R>(query);
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    yield* (await this.writerConnection()).streamQuery<R>(query, chunkSize);
  }

  private async writerConnection(): Promise<DatabaseConnection> {
    this.writer ??= await this.acquireWriter();
    return this.writer;
  }

  /**
   * The writer may be held by a write that is waiting out another process's lock: wait for it no
   * longer than the caller's own bound, or every queued caller would wait for all those ahead.
   */
  private async acquireWriter(): Promise<DatabaseConnection> {
    const acquiring = this.writerDriver.acquireConnection();
    const remaining = this.remainingMs?.();
    if (remaining === undefined) return acquiring;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, remaining))));
    try {
      const first = await Promise.race([acquiring, timedOut]);
      if (first !== 'timeout') return first;
    } finally {
      clearTimeout(timer);
    }
    // Given up: the connection, once it comes, goes straight back.
    void acquiring.then((connection) => this.writerDriver.releaseConnection(connection)).catch(() => undefined);
    throw new StoreUnavailableError(
      `the SQLite file is locked by another process (this write was queued behind others waiting for it; gave up after its ${Math.round(remaining)} ms)`,
    );
  }

  async release(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    if (writer) await this.writerDriver.releaseConnection(writer);
  }
}

/** Statements go through `connection` (any wrapper of a SplitConnection), so BEGIN takes the writer. */
class SplitDriver implements Driver {
  constructor(
    private readonly readerDriver: Driver,
    private readonly writerDriver: Driver,
  ) {}

  async init(): Promise<void> {
    await this.writerDriver.init();
    await this.readerDriver.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new SplitConnection(this.readerDriver, this.writerDriver);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    if (connection instanceof SplitConnection) await connection.release();
    else throw new Error('SplitDriver got back a connection it did not lend');
  }

  async destroy(): Promise<void> {
    await this.readerDriver.destroy();
    await this.writerDriver.destroy();
  }
}

/** A SQLite dialect over a writer and a reader connection to the same file (WAL mode). */
export function splitSqliteDialect(writer: SqliteDatabase, reader: SqliteDatabase): Dialect {
  const writerDialect = new SqliteDialect({ database: writer });
  const readerDialect = new SqliteDialect({ database: reader });
  return {
    createDriver: () => new SplitDriver(readerDialect.createDriver(), writerDialect.createDriver()),
    createQueryCompiler: () => writerDialect.createQueryCompiler(),
    createAdapter: () => writerDialect.createAdapter(),
    createIntrospector: (db) => writerDialect.createIntrospector(db),
  };
}
