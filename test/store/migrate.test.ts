import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  addToAllowlist,
  ALLOWLIST_NO_UPDATE_MESSAGE,
  archiveOldData,
  AUDIT_APPEND_ONLY_MESSAGE,
  insertAudit,
  listAllowlist,
  listAudit,
  listOpenIncidents,
  migrateToLatest,
  raiseIncident,
  reportIncident,
  migrateUpTo,
  openStore,
  OPS_TABLES,
  removeFromAllowlist,
  type Store,
} from '../../src/store';
import { ALL_MIGRATIONS, countRows, DIALECTS, forEachStore, openTestStore, TEST_DATABASE_URL } from './fixtures';

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
  it('upgrade a store at 003: 004 and the later ones apply, and 004 guards the rows already there', async () => {
    const { store, dispose } = await openTestStore(dialect);
    try {
      expect(await migrateUpTo(store, '003_notifications')).toEqual(['001_ops_core', '002_data_syncs', '003_notifications']);
      await insertAudit(store.db, { ts: '2026-01-01T00:00:00.000Z', action: 'sync_n8n', action_type: 'system', success: 0, outcome: 'failed', error: 'boom' });
      // Before 004 an audit row could be rewritten: that is the hole 004 closes.
      await store.db.updateTable('agent_audit_log').set({ error: 'rewritten before 004' }).execute();
      expect(await migrateToLatest(store)).toEqual(ALL_MIGRATIONS.slice(3));
      await expect(store.db.updateTable('agent_audit_log').set({ error: 'rewritten after 004' }).execute()).rejects.toThrow(AUDIT_APPEND_ONLY_MESSAGE);
      expect((await listAudit(store.db))[0]?.error).toBe('rewritten before 004');
      expect(await migrateToLatest(store)).toEqual([]);
    } finally {
      await dispose();
    }
  });

  it('upgrade a store at 004: incidents raised before 005 keep their rows, and the lifecycle holds from then on', async () => {
    const { store, dispose } = await openTestStore(dialect);
    try {
      await migrateUpTo(store, '004_append_only');
      const old = { type: 'dead_letter', severity: 'WARN' as const, title: 'old', body: '', now: new Date('2026-01-01T00:00:00.000Z') };
      await raiseIncident(store.db, old);
      await raiseIncident(store.db, old);
      expect(await migrateToLatest(store)).toEqual(ALL_MIGRATIONS.slice(4));
      // The rows of before have no subject: they stay open, listed, and never collide with the new key.
      const report = { type: 'dead_letter', subject: 'sync_n8n', severity: 'WARN' as const, title: 'new', body: '', now: new Date('2026-01-02T00:00:00.000Z') };
      const first = await reportIncident(store.db, report);
      const again = await reportIncident(store.db, { ...report, relatedWorkflowId: 'run-2' });
      expect([first.created, again.created, again.id, again.occurrences]).toEqual([true, false, first.id, 2]);
      expect((await listOpenIncidents(store.db, { type: 'dead_letter' })).map((r) => r.subject).sort()).toEqual(['sync_n8n', null, null].sort());
      // The database itself refuses a second open incident for one key.
      await expect(
        store.db.insertInto('incidents').values({ created_at: report.now.toISOString(), type: 'dead_letter', subject: 'sync_n8n', severity: 'WARN', title: 'dup', body: '', dedupe_key: null, job: null, related_workflow_id: null }).execute(),
      ).rejects.toThrow(/unique/i);
    } finally {
      await dispose();
    }
  });

  it('an unknown target migration is refused by name', async () => {
    const { store, dispose } = await openTestStore(dialect);
    try {
      await expect(migrateUpTo(store, '999_nope')).rejects.toThrow('Unknown migration "999_nope"');
    } finally {
      await dispose();
    }
  });

  it('apply once; a second run applies nothing and changes nothing', async () => {
    const { store, dispose } = await openTestStore(dialect);
    try {
      expect(await migrateToLatest(store)).toEqual(ALL_MIGRATIONS);
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
      expect(results.flat()).toEqual(ALL_MIGRATIONS);
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
    await db.insertInto('api_request_windows').values({ at_second: 1_767_225_600, service: 'notion', endpoint: '', requests: 1, throttled: 0, failed: 0 }).execute();
    await db
      .insertInto('proposals')
      .values({
        created_at: now,
        kind: 'flaky_job',
        subject: 'sync_n8n',
        title: 't',
        rationale: 'r',
        evidence: '[]',
        confidence: 0.8,
        action: '{"kind":"record_only","note":"n"}',
        expires_at: now,
        decided_at: null,
        decided_by: null,
        decision_reason: null,
        applied_at: null,
        apply_result: null,
      })
      .execute();
    await db.insertInto('incident_mutes').values({ created_at: now, type: 'x', muted_until: now, created_by: 'me', reason: 'r', proposal_id: null }).execute();
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

  describe('the audit log is append-only', () => {
    const ts = '2026-01-02T00:00:00.000Z';
    async function auditRow(action: string): Promise<number> {
      await insertAudit(store().db, { ts, action, action_type: 'system', success: 1, outcome: 'succeeded', actor: 'schedule' });
      const row = await store().db.selectFrom('agent_audit_log').select('id').where('action', '=', action).executeTakeFirstOrThrow();
      return row.id;
    }
    const edits: Record<string, Record<string, unknown>> = {
      error: { error: 'nothing happened' },
      outcome: { outcome: 'failed', success: 0 },
      actor: { actor: 'someone else' },
      ts: { ts: '2030-01-01T00:00:00.000Z' },
      'archive and edit at once': { archived: 1, archived_at: ts, reason: 'cover-up' },
      'un-archive': { archived: 0 },
    };

    it.each(Object.keys(edits))('UPDATE of %s is refused with a clear error, and the row is unchanged', async (name) => {
      const id = await auditRow(`append-only-${name}`);
      const before = await store().db.selectFrom('agent_audit_log').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      if (name === 'un-archive') await store().db.updateTable('agent_audit_log').set({ archived: 1, archived_at: ts }).where('id', '=', id).execute();
      const expected = name === 'un-archive' ? { ...before, archived: 1, archived_at: ts } : before;
      await expect(store().db.updateTable('agent_audit_log').set(edits[name]!).where('id', '=', id).execute()).rejects.toThrow(AUDIT_APPEND_ONLY_MESSAGE);
      const after = await store().db.selectFrom('agent_audit_log').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(after).toEqual(expected);
    });

    it('the retention job still archives old rows, once; a second archive of a row is refused', async () => {
      const id = await auditRow('append-only-retention');
      const archived = await archiveOldData(store().db, { now: new Date('2027-01-01T00:00:00.000Z'), auditDays: 90, deadLetterDays: 90, incidentDays: 90 });
      expect(archived.audit).toBeGreaterThanOrEqual(1);
      const row = await store().db.selectFrom('agent_audit_log').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ archived: 1, archived_at: '2027-01-01T00:00:00.000Z', action: 'append-only-retention' });
      await expect(
        store().db.updateTable('agent_audit_log').set({ archived: 1, archived_at: '2028-01-01T00:00:00.000Z' }).where('id', '=', id).execute(),
      ).rejects.toThrow(AUDIT_APPEND_ONLY_MESSAGE);
    });
  });

  describe('an allowlist entry can only be removed, once', () => {
    const who = (reason: string) => ({ actor: 'operator', reason, now: new Date('2026-01-03T00:00:00.000Z') });
    let n = 0;
    const address = () => `+1555010${String(++n).padStart(4, '0')}`;

    it('removal still works and keeps the row; re-adding the address makes a new live entry', async () => {
      const phone = address();
      const { row: added } = await addToAllowlist(store().db, { kind: 'phone', address: phone, ...who('on call') });
      const removed = await removeFromAllowlist(store().db, { kind: 'phone', address: phone, ...who('left the team') });
      expect(removed).toMatchObject({ id: added.id, removed_by: 'operator', removed_reason: 'left the team', removed_at: '2026-01-03T00:00:00.000Z' });
      expect(await removeFromAllowlist(store().db, { kind: 'phone', address: phone, ...who('again') })).toBeUndefined();
      const again = await addToAllowlist(store().db, { kind: 'phone', address: phone, ...who('back') });
      expect(again.added).toBe(true);
      const rows = (await listAllowlist(store().db, { includeRemoved: true })).filter((r) => r.address === phone);
      expect(rows.map((r) => r.removed_reason)).toEqual(['left the team', null]);
    });

    const edits: Record<string, Record<string, unknown>> = {
      address: { address: '+15559999999' },
      label: { label: 'renamed' },
      'added_by': { added_by: 'someone else' },
      'removal without who and why': { removed_at: '2026-01-04T00:00:00.000Z' },
      'removal that also edits': { removed_at: '2026-01-04T00:00:00.000Z', removed_by: 'x', removed_reason: 'y', address: '+15558888888' },
    };

    it.each(Object.keys(edits))('UPDATE of %s on a live entry is refused, and the row is unchanged', async (name) => {
      const { row } = await addToAllowlist(store().db, { kind: 'phone', address: address(), ...who('added') });
      await expect(store().db.updateTable('comm_allowlist').set(edits[name]!).where('id', '=', row.id).execute()).rejects.toThrow(ALLOWLIST_NO_UPDATE_MESSAGE);
      expect(await store().db.selectFrom('comm_allowlist').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow()).toEqual(row);
    });

    it('a removed entry cannot be removed again, restored or edited', async () => {
      const phone = address();
      await addToAllowlist(store().db, { kind: 'phone', address: phone, ...who('added') });
      const removed = (await removeFromAllowlist(store().db, { kind: 'phone', address: phone, ...who('gone') }))!;
      for (const set of [
        { removed_at: '2026-02-01T00:00:00.000Z', removed_by: 'other', removed_reason: 'second removal' },
        { removed_at: null, removed_by: null, removed_reason: null },
        { removed_reason: 'a nicer reason' },
        { label: 'renamed' },
      ]) {
        await expect(store().db.updateTable('comm_allowlist').set(set).where('id', '=', removed.id).execute()).rejects.toThrow(ALLOWLIST_NO_UPDATE_MESSAGE);
      }
      expect(await store().db.selectFrom('comm_allowlist').selectAll().where('id', '=', removed.id).executeTakeFirstOrThrow()).toEqual(removed);
    });
  });
});
