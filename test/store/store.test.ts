import { sql } from 'kysely';
import { expect, it } from 'vitest';
import {
  archiveOldData,
  claimDueDeadLetters,
  consecutiveFailures,
  getDeadLetter,
  insertAudit,
  insertDeadLetter,
  listAudit,
  listIncidents,
  migrateToLatest,
  OPS_TABLES,
  raiseIncident,
  readControls,
  recordReplayOutcome,
  saveControls,
} from '../../src/store';
import { forEachStore } from './fixtures';

const at = (iso: string) => new Date(iso);

forEachStore((store) => {
  const db = () => store().db;
  const count = async (table: string) =>
    Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(db())).rows[0]!.n);

  it('migrations are versioned and idempotent', async () => {
    expect(await migrateToLatest(store())).toEqual([]);
  });

  it('the database refuses DELETE on every ops table, and the rows stay', async () => {
    await saveControls(db(), { killSwitch: false, version: 1, updatedAt: '2026-01-01T00:00:00.000Z', updatedBy: 't', reason: 'r' }, { actor: 't', reason: 'r', change: {} });
    await raiseIncident(db(), { type: 'x', severity: 'INFO', title: 't', body: '', now: new Date() });
    await insertDeadLetter(db(), { created_at: new Date().toISOString(), job: 'sync_n8n', workflow_id: 'w', input: '{}', error: 'e', category: 'transient', attempts: 1 });
    await sql`insert into health_checks (ts, workflow_id, healthy, checks) values (${new Date().toISOString()}, 'w', 1, '{}')`.execute(db());
    for (const table of OPS_TABLES) {
      const before = await count(table);
      expect(before).toBeGreaterThan(0);
      await expect(sql`delete from ${sql.table(table)}`.execute(db())).rejects.toThrow(/never deleted: archive it instead/);
      if (store().dialect === 'postgres') {
        await expect(sql`truncate ${sql.table(table)}`.execute(db())).rejects.toThrow(/never deleted/);
      }
      expect(await count(table)).toBe(before);
    }
  });

  it('audit: newest first, filtered by job and time; consecutive failures since the last success', async () => {
    const job = 'sync_notion';
    const row = (ts: string, outcome: 'succeeded' | 'failed' | 'skipped') =>
      insertAudit(db(), { ts, action: job, action_type: 'system', success: outcome === 'succeeded' ? 1 : 0, outcome });
    await row('2026-01-01T00:00:00.000Z', 'failed');
    await row('2026-01-02T00:00:00.000Z', 'succeeded');
    await row('2026-01-03T00:00:00.000Z', 'failed');
    await row('2026-01-04T00:00:00.000Z', 'skipped');
    await row('2026-01-05T00:00:00.000Z', 'failed');
    expect(await consecutiveFailures(db(), job)).toBe(2);
    const recent = await listAudit(db(), { job, since: at('2026-01-03T00:00:00.000Z') });
    expect(recent.map((r) => r.outcome)).toEqual(['failed', 'skipped', 'failed']);
  });

  it('incident dedupe: one per key per window, even with concurrent raisers', async () => {
    const raise = (now: Date) =>
      raiseIncident(db(), { type: 'health_alert', severity: 'WARN', title: 'System Health Degraded', body: '', dedupeKey: 'dedupe-test', dedupeWindowMs: 3600_000, now });
    const t0 = at('2026-02-01T10:00:00.000Z');
    const results = await Promise.all(Array.from({ length: 5 }, () => raise(t0)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await raise(at('2026-02-01T10:59:00.000Z'))).created).toBe(false);
    expect((await raise(at('2026-02-01T11:00:01.000Z'))).created).toBe(true);
    expect((await listIncidents(db(), {})).filter((i) => i.dedupe_key === 'dedupe-test')).toHaveLength(2);
  });

  it('dead letters: concurrent claimers never share a letter; a claim is a lease', async () => {
    const now = at('2026-03-01T00:00:00.000Z');
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(await insertDeadLetter(db(), { created_at: now.toISOString(), job: 'periodic_scan', workflow_id: `claim-${i}`, input: '{}', error: 'e', category: 'lease-test', attempts: 5 }));
    }
    const claim = (limit: number, when = now) => claimDueDeadLetters(db(), { category: 'lease-test', limit, maxAttempts: 5, now: when, leaseMs: 60_000 });
    const [a, b] = await Promise.all([claim(4), claim(4)]);
    const claimed = [...a!, ...b!].map((l) => l.id);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort()).toEqual([...ids].sort());
    expect(await claim(10)).toEqual([]);
    // Nobody reported back: after the lease they are due again.
    expect(await claim(10, new Date(now.getTime() + 61_000))).toHaveLength(6);

    await recordReplayOutcome(db(), ids[0]!, { succeeded: true, now, countsAsAttempt: true });
    await recordReplayOutcome(db(), ids[1]!, { succeeded: false, error: 'again', now, nextAttemptAt: new Date(now.getTime() + 2000), countsAsAttempt: true });
    await recordReplayOutcome(db(), ids[2]!, { succeeded: false, now, exhausted: true, countsAsAttempt: true });
    expect(await getDeadLetter(db(), ids[0]!)).toMatchObject({ status: 'resolved', replay_attempts: 1, resolved_at: now.toISOString() });
    expect(await getDeadLetter(db(), ids[1]!)).toMatchObject({ status: 'open', replay_attempts: 1, last_replay_error: 'again' });
    expect(await getDeadLetter(db(), ids[2]!)).toMatchObject({ status: 'exhausted' });
  });

  it('archive: old rows flagged, recent ones untouched, nothing deleted, idempotent', async () => {
    const now = at('2027-06-01T00:00:00.000Z');
    const before = await count('agent_audit_log');
    await insertAudit(db(), { ts: '2026-05-01T00:00:00.000Z', action: 'archive-test', action_type: 'system', success: 1 });
    await insertAudit(db(), { ts: '2027-05-01T00:00:00.000Z', action: 'archive-test', action_type: 'system', success: 1 });
    const opts = { now, auditDays: 365, deadLetterDays: 30, incidentDays: 90 };
    const first = await archiveOldData(db(), opts);
    expect(first.audit).toBeGreaterThanOrEqual(1);
    const rows = await listAudit(db(), { job: 'archive-test', includeArchived: true });
    expect(rows.map((r) => [r.ts, r.archived])).toEqual([
      ['2027-05-01T00:00:00.000Z', 0],
      ['2026-05-01T00:00:00.000Z', 1],
    ]);
    expect(await listAudit(db(), { job: 'archive-test' })).toHaveLength(1);
    expect(await count('agent_audit_log')).toBe(before + 2);
    expect(await archiveOldData(db(), opts)).toEqual({ audit: 0, deadLetters: 0, incidents: 0 });
  });

  it('the controls mirror and its audit row are written together', async () => {
    const state = { killSwitch: true, version: 7, updatedAt: '2026-04-01T00:00:00.000Z', updatedBy: 'jonah', reason: 'stop' };
    await saveControls(db(), state, { actor: 'jonah', reason: 'stop', change: { killSwitch: true } });
    expect(await readControls(db())).toEqual(state);
    const [audit] = await listAudit(db(), { job: 'controls.update', limit: 1 });
    expect(audit).toMatchObject({ actor: 'jonah', reason: 'stop', action_type: 'control' });
  });
});
