import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateToLatest, openStore, OPS_TABLES, type Store } from '../../src/store';
import { countRows, DIALECTS, forEachStore, openTestStore, TEST_DATABASE_URL } from './fixtures';

/** Tables, columns, indexes and triggers, as the database describes them. */
async function schemaSnapshot(store: Store): Promise<unknown[]> {
  if (store.dialect === 'sqlite') {
    return (await sql`select type, name, sql from sqlite_master order by type, name`.execute(store.db)).rows;
  }
  const columns = await sql`
    select table_name, column_name, data_type, is_nullable, column_default from information_schema.columns
    where table_schema = current_schema() order by table_name, ordinal_position`.execute(store.db);
  const triggers = await sql`
    select tgname, tgrelid::regclass::text as rel from pg_trigger t join pg_class c on c.oid = t.tgrelid
    where c.relnamespace = current_schema()::regnamespace and not tgisinternal order by tgname`.execute(store.db);
  const indexes = await sql`select indexname, indexdef from pg_indexes where schemaname = current_schema() order by indexname`.execute(store.db);
  return [...columns.rows, ...triggers.rows, ...indexes.rows];
}

describe.each(DIALECTS)('migrations on %s', (dialect) => {
  it('apply once; a second run applies nothing and changes nothing', async () => {
    const { store, dispose } = await openTestStore(dialect);
    try {
      expect(await migrateToLatest(store)).toEqual(['001_ops_core', '002_data_syncs', '003_notifications']);
      const after = await schemaSnapshot(store);
      expect(after.length).toBeGreaterThan(10);
      expect(await migrateToLatest(store)).toEqual([]);
      expect(await schemaSnapshot(store)).toEqual(after);
    } finally {
      await dispose();
    }
  });

  it('a failing migration throws a clear error and leaves nothing half-made', async () => {
    const { store, dispose } = await openTestStore(dialect);
    try {
      // A stray table where the migration wants to create one.
      await sql`create table incidents (stray integer)`.execute(store.db);
      await expect(migrateToLatest(store)).rejects.toThrow(/Store migration failed \(at 001_ops_core\): .*incidents/);
      const tables =
        dialect === 'sqlite'
          ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name = 'agent_controls'`.execute(store.db)
          : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_name = 'agent_controls'`.execute(store.db);
      expect(tables.rows).toEqual([]);
    } finally {
      await dispose();
    }
  });
});

describe('concurrent migrations on postgres', () => {
  it('two stores migrating one schema at once: one applies, the other waits and finds nothing to do', async () => {
    const first = await openTestStore('postgres');
    const second = await openStore({ databaseUrl: TEST_DATABASE_URL, sqlitePath: '', pgSchema: first.location });
    try {
      const results = await Promise.all([migrateToLatest(first.store), migrateToLatest(second)]);
      expect(results.flat()).toEqual(['001_ops_core', '002_data_syncs', '003_notifications']);
    } finally {
      await second.close();
      await first.dispose();
    }
  });
});

forEachStore((store, dialect) => {
  async function plantOneRowEach(): Promise<void> {
    const now = '2026-01-01T00:00:00.000Z';
    const db = store().db;
    await db.insertInto('agent_controls').values({ id: 1, state: '{"killSwitch":false,"version":1}', version: 1, updated_at: now, updated_by: 't', reason: 'r' }).execute();
    await db.insertInto('agent_audit_log').values({ ts: now, action: 'a', action_type: 'system', success: 1 }).execute();
    await db.insertInto('incidents').values({ created_at: now, type: 't', severity: 'INFO', title: 't', body: '' }).execute();
    await db.insertInto('dead_letters').values({ created_at: now, job: 'j', workflow_type: 'j', workflow_id: 'w', input: '{}', error: 'e', category: 'transient', attempts: 1 }).execute();
    await db.insertInto('health_checks').values({ ts: now, workflow_id: 'w', healthy: 1, checks: '{}' }).execute();
    await db.insertInto('data_source_sync').values({ source_name: 'notion', updated_at: now }).execute();
    await db
      .insertInto('memory_items')
      .values({ key: 'k', value: '{}', authority: 'inferred', source_type: 's', source_id: '1', content_hash: 'h', version: 1, created_at: now, updated_at: now })
      .execute();
    await db
      .insertInto('comm_allowlist')
      .values({ kind: 'phone', address: '+15550000000', label: null, added_at: now, added_by: 't', added_reason: 'r', removed_at: null, removed_by: null, removed_reason: null })
      .execute();
    const notification = await db
      .insertInto('notifications')
      .values({
        idempotency_key: 'k',
        created_at: now,
        updated_at: now,
        workflow_id: null,
        severity: 'WARN',
        type: 't',
        title: 't',
        body: '',
        requires_approval: 0,
        meta: null,
        route: 'digest',
        channel: null,
        recipient: null,
        status: 'held',
        status_reason: null,
        provider_id: null,
        sent_at: null,
        delivered_in: null,
        delivered_at: null,
        incident_id: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('notification_attempts')
      .values({
        notification_id: notification.id,
        attempt: 1,
        started_at: now,
        finished_at: now,
        channel: null,
        recipient: null,
        outcome: 'held',
        detail: null,
        provider_id: null,
        workflow_id: null,
        activity_attempt: null,
      })
      .execute();
    await db.insertInto('api_calls').values({ hour: '2026-01-01T00', service: 'notion', calls: 1 }).execute();
  }

  it('the database itself refuses DELETE on every ops table, and the rows stay', async () => {
    await plantOneRowEach();
    for (const table of OPS_TABLES) {
      const before = await countRows(store(), table);
      expect(before).toBe(1);
      const refusal = new RegExp(`ops data is never deleted: archive it instead \\(${table}\\)`);
      await expect(sql`delete from ${sql.table(table)}`.execute(store().db)).rejects.toThrow(refusal);
      await expect(sql`delete from ${sql.table(table)} where 1 = 1`.execute(store().db)).rejects.toThrow(refusal);
      expect(await countRows(store(), table)).toBe(before);
    }
  });

  // Declared only where it applies, so nothing is reported as skipped.
  if (dialect === 'postgres') {
    it('TRUNCATE is refused too', async () => {
      for (const table of OPS_TABLES) {
        const before = await countRows(store(), table);
        await expect(sql`truncate ${sql.table(table)}`.execute(store().db)).rejects.toThrow(`ops data is never deleted: archive it instead (${table})`);
        expect(await countRows(store(), table)).toBe(before);
      }
    });
  }

  it('there is exactly one controls row', async () => {
    const row = { state: '{}', version: 1, updated_at: '2026-01-01T00:00:00.000Z', updated_by: 't', reason: 'r' };
    await expect(store().db.insertInto('agent_controls').values({ id: 2, ...row }).execute()).rejects.toThrow(/check/i);
  });

  // Declared only where it applies, so nothing is reported as skipped.
  if (dialect === 'sqlite') {
    it('SQLite takes timestamps only as toISOString() spells them, so text order is time order', async () => {
      const insert = (ts: string) => store().db.insertInto('health_checks').values({ ts, workflow_id: 'w', healthy: 1, checks: '{}' }).execute();
      await expect(insert('2026-01-01T00:00:00Z')).rejects.toThrow(/CHECK constraint/);
      await expect(insert('2026-01-01 00:00:00.000')).rejects.toThrow(/CHECK constraint/);
      await expect(insert('2026-01-01T00:00:00.000Z')).resolves.toBeDefined();
    });
  }
});
