/**
 * Proposals in the store, on SQLite and PostgreSQL: the hourly cap (also with concurrent offerers
 * on separate connections), dedupe while pending, the cool-down after a rejection, decisions and
 * their refusals (nothing changes), expiry, applying once, every decision audited with who and
 * why, and muted incident types (WARN recorded not alerted, SEV1 still alerts).
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import {
  decideProposal,
  expireProposals,
  getProposal,
  listAudit,
  listProposals,
  markProposalApplied,
  migrateToLatest,
  muteIncidentType,
  offerProposal,
  openStore,
  ProposalStateError,
  reportIncident,
  type NewProposal,
  type ProposalLimits,
  type Store,
} from '../../src/store';
import { forEachStore, openTestStore, TEST_DATABASE_URL } from './fixtures';

const HOUR = 3600_000;
const LIMITS: ProposalLimits = { perHour: 10, coolDownMs: 168 * HOUR, expiresAfterMs: 72 * HOUR };

// Each test works in its own week so the global hourly cap of one never meets another's proposals.
const week = (n: number) => Date.parse('2026-01-05T00:00:00.000Z') + n * 7 * 24 * HOUR;

function proposal(subject: string, now: Date, kind = 'flaky_job'): NewProposal {
  return {
    kind,
    subject,
    title: `${kind}: ${subject}`,
    rationale: 'failed 5 of the last 6 runs',
    evidence: [{ table: 'agent_audit_log', id: 1 }],
    confidence: 0.8,
    action: { kind: 'pause_schedule', job: 'sync_n8n' },
    now,
  };
}

async function proposalAudit(store: Store, id: number) {
  const rows = (await listAudit(store.db, { limit: 10_000 })).filter(
    (r) => r.action.startsWith('proposal.') && (JSON.parse(r.input_data ?? '{}') as { id?: number }).id === id,
  );
  return rows
    .sort((a, b) => a.id - b.id)
    .map(({ action, action_type, success, actor, reason, error }) => ({ action, action_type, success, actor, reason, error }));
}

forEachStore((store, dialect) => {
  it('15 candidates make 10 proposals, the other 5 are refused for the cap, and the next hour makes them', async () => {
    const t0 = week(0);
    const subjects = Array.from({ length: 15 }, (_, i) => `cap-${i}`);
    const first = [];
    for (const [i, s] of subjects.entries()) first.push(await offerProposal(store().db, proposal(s, new Date(t0 + i * 60_000)), LIMITS));
    expect(first.filter((o) => o.created)).toHaveLength(10);
    expect(first.slice(10)).toEqual(Array.from({ length: 5 }, () => ({ created: false, why: 'hourly_cap' })));

    // 59 minutes after the first one the hour still holds all ten.
    expect(await offerProposal(store().db, proposal('cap-10', new Date(t0 + 59 * 60_000)), LIMITS)).toEqual({ created: false, why: 'hourly_cap' });
    // An hour after the last of the ten, the five left over are made; the ten stay pending (no dup).
    const later = new Date(t0 + 9 * 60_000 + HOUR);
    const second = [];
    for (const s of subjects) second.push(await offerProposal(store().db, proposal(s, later), LIMITS));
    expect(second.slice(0, 10).map((o) => (o.created ? 'created' : o.why))).toEqual(Array.from({ length: 10 }, () => 'pending'));
    expect(second.slice(10).every((o) => o.created)).toBe(true);
    const rows = (await listProposals(store().db, { limit: 1000 })).filter((r) => r.subject.startsWith('cap-'));
    expect(rows).toHaveLength(15);
    expect(new Set(rows.map((r) => r.subject)).size).toBe(15);
    expect(rows.every((r) => r.status === 'pending')).toBe(true);
  });

  it('two concurrent offerers on separate connections still make at most 10 in an hour', async () => {
    const own = await openTestStore(dialect);
    const others: Store[] = [];
    try {
      await migrateToLatest(own.store);
      for (let i = 0; i < 2; i++) {
        others.push(
          dialect === 'postgres'
            ? await openStore({ databaseUrl: TEST_DATABASE_URL, sqlitePath: '', pgSchema: own.location })
            : await openStore({ sqlitePath: own.location }),
        );
      }
      const now = new Date(week(1));
      // Two scans at once, each with 12 candidates (8 shared, 4 its own): 16 distinct subjects.
      const scan = (db: Store['db'], mine: string) =>
        Promise.all([
          ...Array.from({ length: 8 }, (_, i) => offerProposal(db, proposal(`shared-${i}`, now), LIMITS)),
          ...Array.from({ length: 4 }, (_, i) => offerProposal(db, proposal(`${mine}-${i}`, now), LIMITS)),
        ]);
      const [a, b] = await Promise.all([scan(others[0]!.db, 'a'), scan(others[1]!.db, 'b')]);
      const all = [...a, ...b];
      expect(all.filter((o) => o.created)).toHaveLength(10);
      expect(all.filter((o) => !o.created && o.why === 'hourly_cap').length).toBeGreaterThanOrEqual(6);
      const rows = await listProposals(own.store.db, { limit: 1000 });
      expect(rows).toHaveLength(10);
      expect(new Set(rows.map((r) => r.subject)).size).toBe(10);
    } finally {
      await Promise.all(others.map((o) => o.close()));
      await own.dispose();
    }
  });

  it('a pending (kind, subject) is not proposed again; another kind on the same subject is', async () => {
    const now = new Date(week(2));
    const made = await offerProposal(store().db, proposal('dup', now), LIMITS);
    expect(made.created).toBe(true);
    const again = await offerProposal(store().db, proposal('dup', new Date(now.getTime() + 5 * HOUR)), LIMITS);
    expect(again).toEqual({ created: false, why: 'pending', id: made.created ? made.id : -1 });
    expect((await offerProposal(store().db, proposal('dup', now, 'failing_automation'), LIMITS)).created).toBe(true);
    expect((await listProposals(store().db, { limit: 1000 })).filter((r) => r.subject === 'dup')).toHaveLength(2);
  });

  it('a rejected one cools down for the configured time, then may be proposed again', async () => {
    const t0 = week(3);
    const made = await offerProposal(store().db, proposal('cool', new Date(t0)), LIMITS);
    if (!made.created) throw new Error('not created');
    await decideProposal(store().db, made.id, 'reject', { actor: 'ana', reason: 'intended', now: new Date(t0 + HOUR) });
    const rejectedAt = t0 + HOUR;
    expect(await offerProposal(store().db, proposal('cool', new Date(rejectedAt + 2 * HOUR)), LIMITS)).toEqual({
      created: false,
      why: 'cooling_down',
      id: made.id,
    });
    expect((await offerProposal(store().db, proposal('cool', new Date(rejectedAt + LIMITS.coolDownMs - 1000)), LIMITS)).created).toBe(false);
    const after = await offerProposal(store().db, proposal('cool', new Date(rejectedAt + LIMITS.coolDownMs + 1000)), LIMITS);
    expect(after.created).toBe(true);
    // An approval or an expiry is no cool-down: only a rejection is.
    const other = await offerProposal(store().db, proposal('cool-expired', new Date(t0)), LIMITS);
    if (!other.created) throw new Error('not created');
    await expireProposals(store().db, new Date(t0 + LIMITS.expiresAfterMs));
    expect((await offerProposal(store().db, proposal('cool-expired', new Date(t0 + LIMITS.expiresAfterMs + 1000)), LIMITS)).created).toBe(true);
  });

  it('decide refuses what is not pending, expired or missing, by name, and changes nothing', async () => {
    const t0 = week(4);
    const made = await offerProposal(store().db, proposal('decide', new Date(t0)), LIMITS);
    if (!made.created) throw new Error('not created');
    const approved = await decideProposal(store().db, made.id, 'approve', { actor: 'ana', reason: 'yes please', now: new Date(t0 + HOUR) });
    expect(approved).toMatchObject({ status: 'approved', decided_by: 'ana', decision_reason: 'yes please', decided_at: new Date(t0 + HOUR).toISOString() });
    expect(await getProposal(store().db, made.id)).toEqual(approved);

    for (const verb of ['approve', 'reject'] as const) {
      await expect(decideProposal(store().db, made.id, verb, { actor: 'bo', reason: 'again', now: new Date(t0 + 2 * HOUR) })).rejects.toThrow(
        new ProposalStateError(`proposal #${made.id} is approved, not pending`),
      );
    }
    expect(await getProposal(store().db, made.id)).toEqual(approved);

    const late = await offerProposal(store().db, proposal('decide-late', new Date(t0)), LIMITS);
    if (!late.created) throw new Error('not created');
    const before = await getProposal(store().db, late.id);
    const expiresAt = new Date(t0 + LIMITS.expiresAfterMs).toISOString();
    await expect(decideProposal(store().db, late.id, 'approve', { actor: 'ana', reason: 'too late', now: new Date(t0 + LIMITS.expiresAfterMs) })).rejects.toThrow(
      `proposal #${late.id} expired at ${expiresAt}`,
    );
    expect(await getProposal(store().db, late.id)).toEqual(before);

    await expect(decideProposal(store().db, 987_654, 'reject', { actor: 'ana', reason: 'x', now: new Date(t0) })).rejects.toThrow(
      new ProposalStateError('no proposal #987654'),
    );
    expect(await proposalAudit(store(), late.id)).toEqual([]);
    expect(await proposalAudit(store(), made.id)).toEqual([
      { action: 'proposal.approve', action_type: 'operator', success: 1, actor: 'ana', reason: 'yes please', error: null },
    ]);
  });

  it('expireProposals expires the pending ones past their time (audited as system), and only those', async () => {
    const t0 = week(5);
    const old = await offerProposal(store().db, proposal('exp-old', new Date(t0)), LIMITS);
    const young = await offerProposal(store().db, proposal('exp-young', new Date(t0 + 2 * HOUR)), LIMITS);
    const decided = await offerProposal(store().db, proposal('exp-decided', new Date(t0)), LIMITS);
    if (!old.created || !young.created || !decided.created) throw new Error('not created');
    await decideProposal(store().db, decided.id, 'reject', { actor: 'ana', reason: 'no', now: new Date(t0 + HOUR) });

    const at = new Date(t0 + LIMITS.expiresAfterMs + HOUR);
    const expired = await expireProposals(store().db, at);
    expect(expired.map((r) => r.id)).toContain(old.id);
    expect(expired.map((r) => r.id)).not.toContain(young.id);
    expect(expired.map((r) => r.id)).not.toContain(decided.id);
    expect(await getProposal(store().db, old.id)).toMatchObject({ status: 'expired' });
    expect(await getProposal(store().db, young.id)).toMatchObject({ status: 'pending' });
    expect(await getProposal(store().db, decided.id)).toMatchObject({ status: 'rejected' });
    expect(await proposalAudit(store(), old.id)).toEqual([
      { action: 'proposal.expire', action_type: 'system', success: 1, actor: 'system', reason: 'not decided in time', error: null },
    ]);
    // A second sweep finds nothing more to do for it.
    expect((await expireProposals(store().db, at)).map((r) => r.id)).not.toContain(old.id);
    expect(await proposalAudit(store(), old.id)).toHaveLength(1);
    await expect(decideProposal(store().db, old.id, 'approve', { actor: 'ana', reason: 'x', now: at })).rejects.toThrow(
      `proposal #${old.id} is expired, not pending`,
    );
  });

  it('markProposalApplied once: a second call changes nothing; not approved is refused', async () => {
    const t0 = week(6);
    const made = await offerProposal(store().db, proposal('apply', new Date(t0)), LIMITS);
    if (!made.created) throw new Error('not created');
    await expect(markProposalApplied(store().db, made.id, 'paused', new Date(t0))).rejects.toThrow(`proposal #${made.id} is pending, not approved`);
    await decideProposal(store().db, made.id, 'approve', { actor: 'ana', reason: 'go', now: new Date(t0 + 60_000) });
    const applied = await markProposalApplied(store().db, made.id, 'schedule sync_n8n paused', new Date(t0 + 120_000));
    expect(applied).toMatchObject({ status: 'applied', applied_at: new Date(t0 + 120_000).toISOString(), apply_result: 'schedule sync_n8n paused' });
    const again = await markProposalApplied(store().db, made.id, 'something else', new Date(t0 + 180_000));
    expect(again).toEqual(applied);
    expect(await getProposal(store().db, made.id)).toEqual(applied);
    expect(await proposalAudit(store(), made.id)).toEqual([
      { action: 'proposal.approve', action_type: 'operator', success: 1, actor: 'ana', reason: 'go', error: null },
      { action: 'proposal.apply', action_type: 'system', success: 1, actor: 'system', reason: 'schedule sync_n8n paused', error: null },
    ]);
  });

  it('every decision is audited with its actor and reason; a rejection too', async () => {
    const t0 = week(7);
    const made = await offerProposal(store().db, proposal('audit', new Date(t0)), LIMITS);
    if (!made.created) throw new Error('not created');
    await decideProposal(store().db, made.id, 'reject', { actor: 'bo', reason: 'we need this job', now: new Date(t0 + 60_000) });
    const audit = await listAudit(store().db, { job: 'proposal.reject', limit: 1000 });
    const row = audit.find((r) => (JSON.parse(r.input_data ?? '{}') as { id?: number }).id === made.id);
    expect(row).toMatchObject({ actor: 'bo', reason: 'we need this job', action_type: 'operator', success: 1, ts: new Date(t0 + 60_000).toISOString() });
    expect(JSON.parse(row!.input_data!)).toEqual({ id: made.id, kind: 'flaky_job', subject: 'audit' });
    expect(JSON.parse(row!.output_data!)).toEqual({ status: 'rejected' });
  });

  it('proposals are never deleted: the store refuses a DELETE', async () => {
    const made = await offerProposal(store().db, proposal('nodelete', new Date(week(8))), LIMITS);
    if (!made.created) throw new Error('not created');
    await expect(sql`delete from proposals where id = ${made.id}`.execute(store().db)).rejects.toThrow();
    expect(await getProposal(store().db, made.id)).toBeDefined();
  });

  it('a muted type: a new WARN is recorded with alert_withheld, a SEV1 of it still alerts; after the mute it alerts again', async () => {
    const t0 = week(9);
    const type = `muted_${dialect}`;
    await muteIncidentType(store().db, { type, until: new Date(t0 + 24 * HOUR), proposalId: 42, actor: 'ana', reason: 'noisy', now: new Date(t0) });
    const warn = await reportIncident(store().db, { type, subject: 'w', severity: 'WARN', title: 't', body: 'b', now: new Date(t0 + HOUR) });
    expect(warn).toMatchObject({ created: true, alert: false });
    const { rows } = await sql<{ alert_withheld: string | null }>`select alert_withheld from incidents where id = ${warn.id}`.execute(store().db);
    expect(rows[0]!.alert_withheld).toBe(`${type} muted until ${new Date(t0 + 24 * HOUR).toISOString()} (noisy)`);
    const sev1 = await reportIncident(store().db, { type, subject: 's', severity: 'SEV1', title: 't', body: 'b', now: new Date(t0 + 2 * HOUR) });
    expect(sev1).toMatchObject({ created: true, alert: true });
    const late = await reportIncident(store().db, { type, subject: 'w2', severity: 'WARN', title: 't', body: 'b', now: new Date(t0 + 26 * HOUR) });
    expect(late).toMatchObject({ created: true, alert: true });
    const audit = (await listAudit(store().db, { job: 'incident.mute', limit: 1000 })).find((r) => r.ts === new Date(t0).toISOString());
    expect(audit).toMatchObject({ actor: 'ana', reason: 'noisy', success: 1 });
    expect(JSON.parse(audit!.input_data!)).toEqual({ type, until: new Date(t0 + 24 * HOUR).toISOString(), proposal: 42 });
    await expect(muteIncidentType(store().db, { type, until: new Date(t0), actor: 'ana', reason: 'x', now: new Date(t0) })).rejects.toThrow(RangeError);
  });
});
