/**
 * Store outages for the chaos run, each confined to the run's own data: a SQLite file held
 * under an exclusive lock by another process, and a PostgreSQL database of the run's own that
 * refuses connections (ALLOW_CONNECTIONS false, its sessions terminated), then comes back.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { track } from './children';

const ROOT = join(__dirname, '..', '..');

/** Locks `file` for `ms`; resolves once the lock is held, with a promise of its release. */
export async function lockSqlite(file: string, ms: number): Promise<{ released: Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'chaos', 'sqlite-lock.ts'), file, String(ms)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('locked')) resolve();
    });
    void exited.then((code) => reject(new Error(`the SQLite lock holder exited (${code}) before it held the lock: ${err}`)));
  });
  return {
    released: exited.then((code) => {
      if (code !== 0) throw new Error(`the SQLite lock holder failed (${code}): ${err}`);
    }),
  };
}

const DB_NAME = /^chaos_[a-z0-9_]{1,40}$/;

/** A PostgreSQL database of the chaos run's own, on the server of `adminUrl`. */
export interface ChaosDatabase {
  url: string;
  /** No new connections, and every open session of this database ended, for `ms`. */
  outage(ms: number): Promise<void>;
  drop(): Promise<void>;
}

export async function createChaosDatabase(adminUrl: string, name: string): Promise<ChaosDatabase> {
  if (!DB_NAME.test(name)) throw new Error(`chaos database name "${name}" must match ${DB_NAME}`);
  const admin = async <T>(work: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  await admin(async (c) => {
    await c.query(`drop database if exists ${name} with (force)`);
    await c.query(`create database ${name}`);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    outage: async (ms) => {
      await admin(async (c) => {
        await c.query(`alter database ${name} allow_connections false`);
        await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
      });
      try {
        await new Promise((r) => setTimeout(r, ms));
      } finally {
        await admin((c) => c.query(`alter database ${name} allow_connections true`));
      }
    },
    drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}
