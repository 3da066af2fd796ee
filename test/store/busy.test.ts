import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { classifyError, StoreUnavailableError } from '../../src/errors';
import { checkBusyRetryPolicy, retryWhileBusy, type RetryClock } from '../../src/store/busy';
import { insertAudit, listAudit, migrateToLatest, openStore, readControls, withStoreWaitLimit, writeTransaction, type Store } from '../../src/store';
import { lagProbe } from '../helpers/event-loop-lag';
import { holdSqliteLock } from '../helpers/sqlite-lock';

const busy = (code = 'SQLITE_BUSY') => Object.assign(new Error('database is locked'), { code, name: 'SqliteError' });
const POLICY = { maxWaitMs: 1000, initialDelayMs: 10, maxDelayMs: 80 };

/** A clock that only moves when the code under test sleeps. */
function fakeClock(): RetryClock & { sleeps: number[] } {
  let t = 0;
  const sleeps: number[] = [];
  return { sleeps, now: () => t, random: () => 1, sleep: async (ms) => void (sleeps.push(ms), (t += ms)) };
}

describe('retryWhileBusy', () => {
  it('retries SQLITE_BUSY after growing, capped delays until the statement gets through', async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await retryWhileBusy(
      async () => {
        if (++calls <= 5) throw busy();
        return 'done';
      },
      clock.now() + POLICY.maxWaitMs,
      POLICY,
      clock,
    );
    expect(result).toBe('done');
    expect(clock.sleeps).toEqual([10, 20, 40, 80, 80]);
  });

  it('gives up at the deadline with a StoreUnavailableError, classified database, that says why', async () => {
    const clock = fakeClock();
    let calls = 0;
    const failure = await retryWhileBusy(
      async () => {
        calls++;
        throw busy();
      },
      clock.now() + POLICY.maxWaitMs,
      POLICY,
      clock,
    ).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toMatch(/^Store unavailable: database is locked \(the SQLite file is locked by another process; gave up after \d+ tries in 1000 ms\)$/);
    expect(classifyError(failure).category).toBe('database');
    expect(clock.now()).toBe(POLICY.maxWaitMs);
    expect(calls).toBe(clock.sleeps.length + 1);
  });

  it('tries once even past its deadline (a queued caller still gets its turn)', async () => {
    const clock = fakeClock();
    await expect(retryWhileBusy(async () => 'ok', clock.now() - 1, POLICY, clock)).resolves.toBe('ok');
  });

  it('never retries other errors, nor SQLITE_BUSY_SNAPSHOT (waiting never refreshes a stale snapshot)', async () => {
    for (const err of [new Error('no such table: x'), busy('SQLITE_BUSY_SNAPSHOT'), busy('SQLITE_CONSTRAINT')]) {
      const clock = fakeClock();
      let calls = 0;
      await expect(
        retryWhileBusy(
          async () => {
            calls++;
            throw err;
          },
          1000,
          POLICY,
          clock,
        ),
      ).rejects.toBe(err);
      expect(calls).toBe(1);
    }
  });

  it('refuses a policy that could hang or spin', () => {
    expect(() => checkBusyRetryPolicy({ maxWaitMs: -1, initialDelayMs: 1, maxDelayMs: 1 })).toThrow(/maxWaitMs/);
    expect(() => checkBusyRetryPolicy({ maxWaitMs: Number.POSITIVE_INFINITY, initialDelayMs: 1, maxDelayMs: 1 })).toThrow(/maxWaitMs/);
    expect(() => checkBusyRetryPolicy({ maxWaitMs: 1000, initialDelayMs: 0, maxDelayMs: 10 })).toThrow(/initialDelayMs/);
    expect(() => checkBusyRetryPolicy({ maxWaitMs: 1000, initialDelayMs: 50, maxDelayMs: 10 })).toThrow(/initialDelayMs/);
    expect(() => checkBusyRetryPolicy({ maxWaitMs: 1000, initialDelayMs: 1, maxDelayMs: Number.NaN })).toThrow(/maxDelayMs/);
  });
});

/** The longest gap between ticks of a 10 ms interval while `work` runs: how long the event loop stood still. */
async function eventLoopLag<T>(work: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; maxLagMs: number }> {
  const lag = lagProbe(10);
  try {
    const [result] = await Promise.allSettled([work()]);
    return { result: result!, maxLagMs: lag.maxLagMs() };
  } finally {
    lag.stop();
  }
}

const row = (action: string) => ({ ts: new Date().toISOString(), action, action_type: 'system', success: 1, outcome: 'succeeded' as const });

describe('a SQLite store locked by another process', () => {
  let dir: string;
  let file: string;
  let store: Store;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ops-busy-'));
    file = join(dir, 'ops.sqlite');
    store = await openStore({ sqlitePath: file });
    await migrateToLatest(store);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a write waits for the lock without blocking the event loop, then goes through', async () => {
    const lock = await holdSqliteLock(file, 1500);
    const started = performance.now();
    const { result, maxLagMs } = await eventLoopLag(() => insertAudit(store.db, row('waited')));
    expect(result.status).toBe('fulfilled');
    expect(performance.now() - started).toBeGreaterThan(1000);
    expect(maxLagMs).toBeLessThan(100);
    await lock.released;
    expect((await listAudit(store.db)).map((r) => r.action)).toEqual(['waited']);
  });

  it('a write transaction (BEGIN IMMEDIATE) waits the same way', async () => {
    const lock = await holdSqliteLock(file, 1000);
    const { result, maxLagMs } = await eventLoopLag(() => writeTransaction(store.db, (tx) => insertAudit(tx, row('in a transaction'))));
    expect(result.status).toBe('fulfilled');
    expect(maxLagMs).toBeLessThan(100);
    await lock.released;
  });

  it('past the bound it fails fast with StoreUnavailableError, and every caller queued behind it does too, each within its own bound', async () => {
    await store.close();
    store = await openStore({ sqlitePath: file, busyRetry: { maxWaitMs: 400, initialDelayMs: 5, maxDelayMs: 50 } });
    const lock = await holdSqliteLock(file, 10_000);
    try {
      const started = performance.now();
      const { result, maxLagMs } = await eventLoopLag(() =>
        Promise.allSettled([1, 2, 3, 4, 5].map((i) => insertAudit(store.db, row(`refused ${i}`)))),
      );
      const elapsed = performance.now() - started;
      expect(result.status).toBe('fulfilled');
      const outcomes = (result as PromiseFulfilledResult<PromiseSettledResult<void>[]>).value;
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
      }
      // The bounds do not add up in the connection's queue: the deadline counts from the request.
      expect(elapsed).toBeLessThan(1500);
      expect(maxLagMs).toBeLessThan(100);
      // Readers are not locked out in WAL mode: the kill-switch check keeps working.
      await expect(readControls(store.db)).resolves.toBeUndefined();
    } finally {
      await lock.release();
    }
    await insertAudit(store.db, row('after the outage'));
    expect((await listAudit(store.db)).map((r) => r.action)).toEqual(['after the outage']);
  });

  it('a caller that must answer promptly can wait less than the store bound, never more', async () => {
    expect(() => withStoreWaitLimit(-1, async () => undefined)).toThrow(/wait limit/);
    const lock = await holdSqliteLock(file, 10_000);
    try {
      const started = performance.now();
      await expect(withStoreWaitLimit(300, () => insertAudit(store.db, row('prompt')))).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      await lock.release();
    }
  });

  it('a read is not queued behind a write waiting for the lock (the kill-switch check stays prompt)', async () => {
    const lock = await holdSqliteLock(file, 2000);
    try {
      const write = insertAudit(store.db, row('waiting write'));
      let written = false;
      void write.then(() => (written = true), () => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      await expect(readControls(store.db)).resolves.toBeUndefined();
      expect(await listAudit(store.db)).toEqual([]);
      expect(performance.now() - started).toBeLessThan(200);
      expect(written).toBe(false);
      await lock.released;
      await write;
      // And once written, the reader sees it.
      expect((await listAudit(store.db)).map((r) => r.action)).toEqual(['waiting write']);
    } finally {
      await lock.release();
    }
  });

  it('a transaction reads its own writes (it stays on the writer connection)', async () => {
    const seen = await writeTransaction(store.db, async (tx) => {
      await insertAudit(tx, row('inside'));
      return (await listAudit(tx)).map((r) => r.action);
    });
    expect(seen).toEqual(['inside']);
    await expect(
      store.db.transaction().execute(async (tx) => {
        await insertAudit(tx, row('rolled back'));
        expect((await listAudit(tx)).map((r) => r.action)).toContain('rolled back');
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect((await listAudit(store.db)).map((r) => r.action)).toEqual(['inside']);
  });
});

describe('a PostgreSQL store that cannot be reached', () => {
  it('fails with StoreUnavailableError, classified database (not a transient network error)', async () => {
    const store = await openStore({ databaseUrl: 'postgres://ops@127.0.0.1:1/none', sqlitePath: '' });
    try {
      const failure = await readControls(store.db).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect((failure as Error).message).toMatch(/^Store unavailable: no database connection: .*ECONNREFUSED/);
      expect(classifyError(failure).category).toBe('database');
    } finally {
      await store.close();
    }
  });
});
