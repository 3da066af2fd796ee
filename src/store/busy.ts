/**
 * Waiting for the store without blocking the event loop.
 *
 * better-sqlite3 is synchronous: with SQLite's busy_timeout, a statement that meets another
 * process's lock sleeps inside the call, and the whole worker (workflow tasks, heartbeats, the
 * kill switch's Update) stands still with it. So SQLite runs with busy_timeout = 0, and this
 * wrapper retries a statement that failed with SQLITE_BUSY after an asynchronous, growing delay,
 * until a deadline; then it gives up with a StoreUnavailableError (category database), and the
 * caller's own retry policy (a Temporal activity's) decides what happens next.
 *
 * The deadline is counted from the moment a connection is asked for, not from the statement:
 * SQLite has one connection per process behind a mutex, and a wait per statement would let
 * queued callers add their bounds up. On PostgreSQL (an asynchronous driver already) the wrapper
 * only names a failure to get a connection as the store being unavailable.
 */
import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  Kysely,
  QueryResult,
  TransactionSettings,
  DialectAdapter,
  DatabaseIntrospector,
  QueryCompiler,
} from 'kysely';
import { AsyncLocalStorage } from 'node:async_hooks';
import { StoreUnavailableError } from '../errors';

export interface BusyRetryPolicy {
  /** How long one caller may wait for the lock, counted from asking for a connection. */
  maxWaitMs: number;
  /** The first delay between tries; it doubles up to maxDelayMs, with jitter. */
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Close to the 5 s busy_timeout this replaces, but spent awaiting instead of blocking. */
export const DEFAULT_BUSY_RETRY: BusyRetryPolicy = { maxWaitMs: 5000, initialDelayMs: 5, maxDelayMs: 100 };

/** Upper bounds, so that no configuration can turn a wait into a hang. */
const MAX_WAIT_CAP_MS = 10 * 60_000;
const MAX_DELAY_CAP_MS = 10_000;

export function checkBusyRetryPolicy(policy: BusyRetryPolicy): BusyRetryPolicy {
  const { maxWaitMs, initialDelayMs, maxDelayMs } = policy;
  const ok = (v: number, max: number) => Number.isFinite(v) && v >= 0 && v <= max;
  if (!ok(maxWaitMs, MAX_WAIT_CAP_MS)) throw new Error(`busy retry maxWaitMs must be 0..${MAX_WAIT_CAP_MS} ms, got ${maxWaitMs}`);
  if (!ok(maxDelayMs, MAX_DELAY_CAP_MS) || maxDelayMs < 1) throw new Error(`busy retry maxDelayMs must be 1..${MAX_DELAY_CAP_MS} ms, got ${maxDelayMs}`);
  if (!ok(initialDelayMs, maxDelayMs) || initialDelayMs < 1) {
    throw new Error(`busy retry initialDelayMs must be 1..maxDelayMs (${maxDelayMs}) ms, got ${initialDelayMs}`);
  }
  return policy;
}

const waitLimit = new AsyncLocalStorage<number>();

/**
 * Runs `work` with a shorter wait for the store than the store's own bound (never a longer one),
 * for callers that must answer promptly, e.g. a kill-switch Update inside a workflow task.
 */
export function withStoreWaitLimit<T>(maxWaitMs: number, work: () => Promise<T>): Promise<T> {
  if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) throw new Error(`a store wait limit must be a number of ms >= 0, got ${maxWaitMs}`);
  return waitLimit.run(maxWaitMs, work);
}

/**
 * SQLite's "someone else holds the lock, try again later". Not SQLITE_BUSY_SNAPSHOT: a stale read
 * snapshot never becomes fresh by waiting, only by rolling back.
 */
export function isSqliteBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_RECOVERY' || code === 'SQLITE_BUSY_TIMEOUT');
}

export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

const realClock: RetryClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/**
 * Runs `attempt` until it does not fail with SQLITE_BUSY or `deadline` (clock.now() units) has
 * passed; always tries at least once. Other errors are thrown as they are. `since` is when the
 * caller asked (its wait in the connection's queue counts), for the message.
 */
export async function retryWhileBusy<T>(
  attempt: () => Promise<T>,
  deadline: number,
  policy: BusyRetryPolicy,
  clock: RetryClock = realClock,
  since: number = clock.now(),
): Promise<T> {
  let delay = policy.initialDelayMs;
  let tries = 0;
  const startedAt = since;
  for (;;) {
    tries++;
    try {
      return await attempt();
    } catch (err) {
      if (!isSqliteBusy(err)) throw err;
      const left = deadline - clock.now();
      if (left <= 0) {
        const waited = Math.round(clock.now() - startedAt);
        throw new StoreUnavailableError(
          `${(err as Error).message} (the SQLite file is locked by another process; gave up after ${tries} tries in ${waited} ms)`,
          { cause: err },
        );
      }
      // Jitter, so that several processes waiting on one file do not retry in lockstep.
      await clock.sleep(Math.min(left, delay * (0.5 + clock.random() / 2)));
      delay = Math.min(policy.maxDelayMs, delay * 2);
    }
  }
}

/**
 * A connection that itself waits for something (SQLite's single writer connection) can be told
 * how long the caller may wait in all, so that waiting in its queue is bounded too.
 */
export interface WaitBounded {
  boundWait(remainingMs: () => number): void;
}

function isWaitBounded(connection: DatabaseConnection): connection is DatabaseConnection & WaitBounded {
  return typeof (connection as Partial<WaitBounded>).boundWait === 'function';
}

/**
 * A failure of the connection rather than of the statement: node-postgres reports what the
 * server refused with a SQLSTATE and a severity, and a dropped socket without them.
 */
function lostConnection(err: unknown): boolean {
  if (err instanceof StoreUnavailableError || !(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown; severity?: unknown };
  if (typeof e.code === 'string' && e.code.startsWith('SQLITE_')) return false;
  if (e.severity !== undefined) return false;
  return /connection terminated|connection.*(closed|ended)|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|timeout exceeded when trying to connect/i.test(
    `${e.message} ${typeof e.code === 'string' ? e.code : ''}`,
  );
}

class RetryingConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly requestedAt: number,
    private readonly deadline: number,
    private readonly policy: BusyRetryPolicy,
    private readonly clock: RetryClock,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await retryWhileBusy(() => this.inner.executeQuery<R>(query), this.deadline, this.policy, this.clock, this.requestedAt);
    } catch (err) {
      throw lostConnection(err) ? new StoreUnavailableError(`lost the database connection: ${(err as Error).message}`, { cause: err }) : err;
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

const innerOf = (connection: DatabaseConnection): DatabaseConnection =>
  connection instanceof RetryingConnection ? connection.inner : connection;

class RetryingDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly policy: BusyRetryPolicy,
    private readonly clock: RetryClock,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const requestedAt = this.clock.now();
    const deadline = requestedAt + Math.min(this.policy.maxWaitMs, waitLimit.getStore() ?? Number.POSITIVE_INFINITY);
    let connection: DatabaseConnection;
    try {
      connection = await this.inner.acquireConnection();
    } catch (err) {
      throw new StoreUnavailableError(`no database connection: ${(err as Error).message}`, { cause: err });
    }
    if (isWaitBounded(connection)) connection.boundWait(() => deadline - this.clock.now());
    return new RetryingConnection(connection, requestedAt, deadline, this.policy, this.clock);
  }

  // BEGIN, COMMIT and ROLLBACK go through the retrying connection: each may meet the lock too.
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    if (!this.inner.savepoint) throw new Error('this database driver has no savepoints');
    return this.inner.savepoint(connection, name, compile);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    if (!this.inner.rollbackToSavepoint) throw new Error('this database driver has no savepoints');
    return this.inner.rollbackToSavepoint(connection, name, compile);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    if (!this.inner.releaseSavepoint) throw new Error('this database driver has no savepoints');
    return this.inner.releaseSavepoint(connection, name, compile);
  }

  // The pool gets back the connection it lent (pg's release() lives on it).
  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(innerOf(connection));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** `dialect` with every statement retried on SQLITE_BUSY (asynchronously) up to policy.maxWaitMs. */
export function withBusyRetry(dialect: Dialect, policy: BusyRetryPolicy = DEFAULT_BUSY_RETRY, clock: RetryClock = realClock): Dialect {
  checkBusyRetryPolicy(policy);
  return {
    createDriver: () => new RetryingDriver(dialect.createDriver(), policy, clock),
    createQueryCompiler: (): QueryCompiler => dialect.createQueryCompiler(),
    createAdapter: (): DialectAdapter => dialect.createAdapter(),
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => dialect.createIntrospector(db),
  };
}
