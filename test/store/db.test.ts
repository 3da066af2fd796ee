import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store';
import { forEachStore, TEST_DATABASE_URL } from './fixtures';

forEachStore((store, dialect) => {
  it('ids are numbers, timestamps ISO-8601 UTC strings, JSON columns JSON text, flags 0/1', async () => {
    const db = store().db;
    const checks = { store: { ok: true }, disk: { freeMb: 1024 } };
    await db.insertInto('health_checks').values({ ts: '2026-01-02T03:04:05.678Z', workflow_id: 'w', healthy: 1, checks: JSON.stringify(checks) }).execute();
    const row = await db.selectFrom('health_checks').selectAll().executeTakeFirstOrThrow();
    expect(typeof row.id).toBe('number');
    expect(row.ts).toBe('2026-01-02T03:04:05.678Z');
    expect(typeof row.checks).toBe('string');
    expect(JSON.parse(row.checks)).toEqual(checks);
    expect(row.healthy).toBe(1);
    const { rows } = await sql<{ n: unknown }>`select count(*) as n from health_checks`.execute(db);
    expect(rows[0]!.n).toBe(1);
  });

  // Declared only where it applies, so nothing is reported as skipped.
  if (dialect === 'postgres') {
    it('PostgreSQL normalises any offset to UTC on the way out', async () => {
      const db = store().db;
      await db.insertInto('health_checks').values({ ts: '2026-06-01T08:00:00-05:00', workflow_id: 'tz', healthy: 0, checks: '[]' }).execute();
      const row = await db.selectFrom('health_checks').select('ts').where('workflow_id', '=', 'tz').executeTakeFirstOrThrow();
      expect(row.ts).toBe('2026-06-01T13:00:00.000Z');
    });
  }

  // Declared only where it applies, so nothing is reported as skipped.
  if (dialect === 'sqlite') {
    it('SQLite runs in WAL mode with foreign keys on, and never waits for a lock inside SQLite (busy.ts waits instead)', async () => {
      const pragma = async (name: string) => (await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(store().db)).rows[0];
      expect(await pragma('journal_mode')).toEqual({ journal_mode: 'wal' });
      // A wait inside better-sqlite3 would block the event loop: see test/store/busy.test.ts.
      expect(await pragma('busy_timeout')).toEqual({ timeout: 0 });
      expect(await pragma('foreign_keys')).toEqual({ foreign_keys: 1 });
    });
  }
});

describe('sqlite files', () => {
  it('the data directory is created when missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-store-'));
    const file = join(dir, 'not', 'yet', 'ops.sqlite');
    const store = await openStore({ sqlitePath: file });
    try {
      expect(existsSync(file)).toBe(true);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('postgres connections', () => {
  it('type parsers belong to the store pool, not to every pg client in the process', async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ at: unknown; n: unknown }>(`select now() as at, 1::int8 as n`);
      expect(rows[0]!.at).toBeInstanceOf(Date);
      expect(rows[0]!.n).toBe('1');
    } finally {
      await client.end();
    }
  });

  it('a schema name that is not a plain identifier is refused', async () => {
    await expect(openStore({ databaseUrl: TEST_DATABASE_URL, sqlitePath: '', pgSchema: 'x; drop schema public' })).rejects.toThrow(/Invalid PostgreSQL schema name/);
  });
});
