import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { listAudit, readControls, saveControls, type ControlsSnapshot } from '../../src/store';
import { countRows, forEachStore } from './fixtures';

const snapshot = (version: number, killSwitch: boolean, over: Partial<ControlsSnapshot> = {}): ControlsSnapshot => ({
  killSwitch,
  version,
  jobsEnabled: true,
  quietHours: { enabled: true, start: '22:00', end: '07:00', timeZone: 'America/Chicago' },
  updatedAt: new Date(Date.UTC(2026, 3, 1, 0, version)).toISOString(),
  updatedBy: 'jonah',
  reason: `change ${version}`,
  ...over,
});

forEachStore((store, dialect) => {
  const db = () => store().db;

  it('nothing is mirrored before the first change', async () => {
    expect(await readControls(db())).toBeUndefined();
  });

  it('writes the mirror and the audit row of the change', async () => {
    const state = snapshot(1, true);
    await saveControls(db(), state, { actor: 'jonah', reason: 'stop everything', change: { killSwitch: true } });
    expect(await readControls(db())).toEqual(state);
    const row = await db().selectFrom('agent_controls').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ id: 1, version: 1, updated_by: 'jonah', reason: 'change 1', updated_at: state.updatedAt });
    const [audit] = await listAudit(db(), { job: 'controls.update', limit: 1 });
    expect(audit).toMatchObject({ action_type: 'control', success: 1, actor: 'jonah', reason: 'stop everything', ts: state.updatedAt });
    expect(JSON.parse(audit!.input_data!)).toEqual({ killSwitch: true });
    expect(JSON.parse(audit!.output_data!)).toEqual(state);
  });

  it('mirror and audit row commit together or not at all', async () => {
    // Make the audit insert fail after the mirror write has succeeded inside the transaction.
    if (dialect === 'sqlite') {
      await sql`create trigger refuse_boom before insert on agent_audit_log when new.reason = 'boom'
                begin select raise(abort, 'audit insert refused'); end`.execute(db());
    } else {
      await sql`create function refuse_boom() returns trigger language plpgsql as $$
                begin if new.reason = 'boom' then raise exception 'audit insert refused'; end if; return new; end $$`.execute(db());
      await sql`create trigger refuse_boom before insert on agent_audit_log for each row execute function refuse_boom()`.execute(db());
    }
    const before = await readControls(db());
    const audits = await countRows(store(), 'agent_audit_log');
    await expect(saveControls(db(), snapshot(2, false), { actor: 'jonah', reason: 'boom', change: { killSwitch: false } })).rejects.toThrow(/audit insert refused/);
    expect(await readControls(db())).toEqual(before);
    expect(await countRows(store(), 'agent_audit_log')).toBe(audits);
  });

  it('never moves back to an older version, even with concurrent writers', async () => {
    await saveControls(db(), snapshot(5, true), { actor: 'a', reason: 'r', change: {} });
    await saveControls(db(), snapshot(3, false), { actor: 'a', reason: 'late retry', change: {} });
    expect(await readControls(db())).toMatchObject({ version: 5, killSwitch: true });
    const versions = [9, 7, 10, 6, 8];
    await Promise.all(versions.map((v) => saveControls(db(), snapshot(v, v % 2 === 0), { actor: 'a', reason: 'r', change: {} })));
    expect(await readControls(db())).toMatchObject({ version: 10, killSwitch: true });
    expect((await listAudit(db(), { job: 'controls.update' })).length).toBe(1 + 2 + versions.length);
  });

  it('a malformed mirror is an error, never a silently missing kill switch', async () => {
    await db().updateTable('agent_controls').set({ state: JSON.stringify({ version: 11 }) }).where('id', '=', 1).execute();
    await expect(readControls(db())).rejects.toThrow(/agent_controls mirror is malformed/);
  });
});
