/**
 * Read-only opsctl commands never migrate: they run while another process holds the SQLite file
 * under an exclusive lock, and a store whose schema is behind stays exactly as it was, with a
 * message that names the way to upgrade it. opsctl runs in-process with the real OpsClient.connect.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { sqlitePath, type Config } from '../../src/config';
import { migrateUpTo, openStore, pendingMigrations } from '../../src/store';
import { holdSqliteLock } from '../helpers/sqlite-lock';
import { startSystem, type TestSystem } from '../helpers/system';

async function opsctlIn(config: Config, dataDir: string, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  const env = {
    USER: 'tester',
    TEMPORAL_ADDRESS: config.temporal.address,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
    OPS_DATA_DIR: dataDir,
  };
  const code = await runCli(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env });
  return { code, stdout, stderr };
}

async function pendingIn(dataDir: string): Promise<string[]> {
  const store = await openStore({ sqlitePath: join(dataDir, 'ops.sqlite') });
  try {
    return await pendingMigrations(store);
  } finally {
    await store.close();
  }
}

const READS = [
  ['status', '--json'],
  ['audit', '--json'],
  ['incidents', '--json'],
  ['dlq', 'list', '--json'],
  ['notifications', '--json'],
  ['allowlist', 'list', '--json'],
  ['schedules', 'list', '--json'],
];

describe('read-only opsctl commands never migrate', () => {
  let sys: TestSystem;
  const dirs: string[] = [];
  const freshDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsctl-readonly-'));
    dirs.push(dir);
    return dir;
  };
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('they run while another process holds the store under an exclusive lock', async () => {
    const lock = await holdSqliteLock(sqlitePath(sys.config), 60_000);
    try {
      for (const args of READS) {
        const result = await opsctlIn(sys.config, sys.config.dataDir, ...args);
        expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: '' });
        if (args[0] === 'status') expect(JSON.parse(result.stdout)).toMatchObject({ temporal: { ok: true }, store: { ok: true } });
      }
    } finally {
      await lock.release();
    }
  });

  it('a store behind the code stays at its migration, and each read names the way to upgrade', async () => {
    const dir = freshDir();
    const store = await openStore({ sqlitePath: join(dir, 'ops.sqlite') });
    await migrateUpTo(store, '002_data_syncs');
    await store.close();
    const behind = await pendingIn(dir);
    expect(behind[0]).toBe('003_notifications');

    for (const args of READS) {
      const result = await opsctlIn(sys.config, dir, ...args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 1, stdout: '' });
      expect(result.stderr).toContain(`pending: ${behind.join(', ')}`);
      expect(result.stderr).toMatch(/read-only commands never change it: run `npm start` or `opsctl migrate`/);
    }
    expect(await pendingIn(dir)).toEqual(behind);

    // A command that writes upgrades it, as npm start does.
    const migrated = await opsctlIn(sys.config, dir, 'migrate', '--json');
    expect(migrated.code).toBe(0);
    expect(JSON.parse(migrated.stdout)).toEqual({ applied: behind });
    expect(await pendingIn(dir)).toEqual([]);
    expect((await opsctlIn(sys.config, dir, 'audit', '--json')).code).toBe(0);
    expect((await opsctlIn(sys.config, dir, 'migrate')).stdout).toBe('store schema already up to date\n');
  });

  it('a read on a data dir with no store creates nothing', async () => {
    const dir = freshDir();
    const result = await opsctlIn(sys.config, dir, 'audit');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no store here yet; run `npm start` or `opsctl migrate` to create it/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
