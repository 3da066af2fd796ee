/**
 * `opsctl kill on` when opsctl cannot reach its store at all (PostgreSQL down: connection
 * refused) and the worker's store is locked too. opsctl does not need the store for a controls
 * change (ops-controls stores it), so the kill switch goes on; `kill off` is refused by
 * ops-controls, which cannot store it. Before, opsctl gave up connecting to its store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlitePath } from '../../src/config';
import { readControls } from '../../src/store';
import { opsctlFor } from '../helpers/opsctl';
import { holdSqliteLock, type HeldLock } from '../helpers/sqlite-lock';
import { startSystem, type TestSystem } from '../helpers/system';

const LOCK_MS = 12_000;
/** Nothing listens on port 1: every connection is refused at once, as with a PostgreSQL that is down. */
const DEAD_DATABASE_URL = 'postgres://postgres@127.0.0.1:1/test';

describe('opsctl with its store down', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
    await sys.ops.setKillSwitch(false, { actor: 'test', reason: 'store down test' });
  });
  afterAll(async () => {
    await sys.close();
  });

  /** The real opsctl connect (no test store handed in), with DATABASE_URL pointing nowhere. */
  const opsctl = (...args: string[]) => opsctlFor(sys, { DATABASE_URL: DEAD_DATABASE_URL }, { ownStore: true })(...args);

  it('turns the kill switch on, and refuses to turn it off until the store is back', async () => {
    const before = await sys.ops.getControls();
    let lock: HeldLock | undefined;
    try {
      lock = await holdSqliteLock(sqlitePath(sys.config), LOCK_MS);
      const asked = performance.now();
      const on = await opsctl('kill', 'on', '--reason', 'store down');
      const tookMs = performance.now() - asked;
      expect(on.code, on.stderr).toBe(0);
      expect(on.stdout).toMatch(/kill switch +ON/);
      expect(on.stdout).toMatch(/store mirror +PENDING/);
      expect(tookMs).toBeLessThan(5000);
      expect(await sys.ops.getControls()).toMatchObject({ killSwitch: true, version: before.version + 1, updatedBy: 'jonah', mirror: 'pending' });

      const off = await opsctl('kill', 'off', '--reason', 'too early');
      expect(off.code).toBe(1);
      expect(off.stderr).toMatch(/the controls were not changed: .*a change that loosens them must reach the store first/);
      expect(await sys.ops.getControls()).toMatchObject({ killSwitch: true, version: before.version + 1 });
      // Read-only commands still say plainly that the store is unreachable.
      expect((await opsctl('audit')).code).toBe(1);
    } finally {
      await lock?.release();
    }
    await expect.poll(async () => (await readControls(sys.store.db))?.version, { timeout: 45_000, interval: 250 }).toBe(before.version + 1);
    expect((await sys.ops.setKillSwitch(false, { actor: 'test', reason: 'done' })).killSwitch).toBe(false);
  }, 90_000);
});
