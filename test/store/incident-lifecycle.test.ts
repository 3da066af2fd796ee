/**
 * The incident lifecycle in the store, on SQLite and PostgreSQL: one open incident per
 * (type, subject) with its recurrences counted, at most one alert per type per hour, ack and
 * resolve with their refusals and audit rows, and the resolvers' bulk resolution.
 */
import type { Client } from '@temporalio/client';
import { expect, it } from 'vitest';
import { JOB_INCIDENT_TYPES } from '../../src/activities/framework';
import { RESOLVED_TYPES, updateIncidents } from '../../src/activities/resolvers';
import { N8N_WORKFLOW_FAILURES } from '../../src/activities/sources/n8n';
import { SOURCE_INCIDENT_TYPES } from '../../src/activities/sync';
import { configSchema } from '../../src/config';
import { createLogger } from '../../src/logger';
import {
  acknowledgeIncident,
  incidentState,
  IncidentStateError,
  listAudit,
  listIncidents,
  listOpenIncidents,
  openIncidentCounts,
  reportIncident,
  resolveIncidentBy,
  resolveIncidentsOf,
  insertAudit,
  insertDeadLetter,
  insertHealthCheck,
  listDeadLetters,
  migrateToLatest,
  openNotification,
  openStore,
  raiseIncident,
  recordReplayOutcome,
  type IncidentReport,
  type Store,
} from '../../src/store';
import { forEachStore, openTestStore, TEST_DATABASE_URL } from './fixtures';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);

forEachStore((store, dialect) => {
  const report = (over: Partial<IncidentReport> & { type: string; subject: string }): IncidentReport => ({
    severity: 'WARN',
    title: `${over.type} on ${over.subject}`,
    body: 'details',
    now: at(0),
    ...over,
  });
  const decision = (reason: string, minutes = 0) => ({ actor: 'tester', reason, now: at(minutes) });

  it('48 failures a day make one open incident with 48 occurrences, the newest title and the worst severity', async () => {
    const type = 'lc_dedupe';
    const raised = [];
    for (let i = 0; i < 48; i++) {
      raised.push(
        await reportIncident(store().db, report({ type, subject: 'sync_hubspot', severity: i === 5 ? 'SEV1' : 'INFO', title: `failure ${i}`, relatedWorkflowId: `wf-${i}`, now: at(i * 30) })),
      );
    }
    expect(new Set(raised.map((r) => r.id)).size).toBe(1);
    expect(raised.filter((r) => r.created)).toHaveLength(1);
    expect(raised.filter((r) => r.alert)).toHaveLength(1);
    expect(raised.at(-1)).toMatchObject({ occurrences: 48, severity: 'SEV1', created: false, alert: false });
    const open = await listOpenIncidents(store().db, { type });
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ occurrences: 48, severity: 'SEV1', title: 'failure 47', subject: 'sync_hubspot', last_seen_at: at(47 * 30).toISOString() });
  });

  it('the same run reported again (a retried activity) is not counted twice, and its alert is handed over again', async () => {
    const type = 'lc_retry';
    const first = await reportIncident(store().db, report({ type, subject: 'job_a', relatedWorkflowId: 'wf-a' }));
    const retry = await reportIncident(store().db, report({ type, subject: 'job_a', relatedWorkflowId: 'wf-a', now: at(1) }));
    expect(first).toMatchObject({ created: true, alert: true, occurrences: 1 });
    expect(retry).toMatchObject({ id: first.id, created: false, alert: true, occurrences: 1 });
    const next = await reportIncident(store().db, report({ type, subject: 'job_a', relatedWorkflowId: 'wf-b', now: at(2) }));
    expect(next).toMatchObject({ occurrences: 2, alert: false });
  });

  it('one new incident per type per hour alerts; a second subject within the hour is recorded, not alerted; an hour later it alerts', async () => {
    const type = 'lc_window';
    const a = await reportIncident(store().db, report({ type, subject: 's1', now: at(0) }));
    const b = await reportIncident(store().db, report({ type, subject: 's2', now: at(59) }));
    const c = await reportIncident(store().db, report({ type, subject: 's3', now: at(59 + 61) }));
    expect([a, b, c].map((r) => [r.created, r.alert])).toEqual([
      [true, true],
      [true, false],
      [true, true],
    ]);
    // Another type has a window of its own.
    expect(await reportIncident(store().db, report({ type: 'lc_window_other', subject: 's1', now: at(1) }))).toMatchObject({ alert: true });
  });

  it('a withheld incident records why, stays quiet when its run retries, and does not stretch its type\'s window', async () => {
    const type = 'lc_withheld';
    const a = await reportIncident(store().db, report({ type, subject: 's1', relatedWorkflowId: 'wf-a', now: at(0) }));
    const b = await reportIncident(store().db, report({ type, subject: 's2', relatedWorkflowId: 'wf-b', now: at(59) }));
    expect([a.alert, b.alert]).toEqual([true, false]);
    const rows = await listOpenIncidents(store().db, { type });
    expect(rows.find((r) => r.id === b.id)?.alert_withheld).toBe(`incident #${a.id} of this type alerted within the hour`);
    expect(rows.find((r) => r.id === a.id)?.alert_withheld).toBeNull();
    // The bookkeeping of b's run, retried: still not alerted (the first try's verdict stands).
    expect(await reportIncident(store().db, report({ type, subject: 's2', relatedWorkflowId: 'wf-b', now: at(60) }))).toMatchObject({ id: b.id, alert: false, occurrences: 1 });
    // 61 minutes after the one that alerted: the window is over, though b was 2 minutes ago.
    expect(await reportIncident(store().db, report({ type, subject: 's3', now: at(61) }))).toMatchObject({ created: true, alert: true });
  });

  it('a less urgent incident of the type does not mute a more urgent one within the hour', async () => {
    const type = 'lc_window_severity';
    expect(await reportIncident(store().db, report({ type, subject: 'sync_hubspot', severity: 'INFO', now: at(0) }))).toMatchObject({ alert: true });
    expect(await reportIncident(store().db, report({ type, subject: 'daily_digest', severity: 'SEV1', now: at(10) }))).toMatchObject({ alert: true });
    expect(await reportIncident(store().db, report({ type, subject: 'sync_n8n', severity: 'WARN', now: at(20) }))).toMatchObject({ alert: false });
    expect(await reportIncident(store().db, report({ type, subject: 'morning_call', severity: 'SEV1', now: at(30) }))).toMatchObject({ alert: false });
  });

  it('concurrent reporters of one key (separate connections) make one open incident with every occurrence counted, and one alert', async () => {
    const type = 'lc_concurrent';
    const own = await openTestStore(dialect);
    const others: Store[] = [];
    try {
      await migrateToLatest(own.store);
      for (let i = 0; i < 3; i++) {
        others.push(
          dialect === 'postgres'
            ? await openStore({ databaseUrl: TEST_DATABASE_URL, sqlitePath: '', pgSchema: own.location })
            : await openStore({ sqlitePath: own.location }),
        );
      }
      const dbs = [own.store.db, ...others.map((o) => o.db)];
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => reportIncident(dbs[i % dbs.length]!, report({ type, subject: 'same', relatedWorkflowId: `c-${i}`, now: at(i) }))),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(results.filter((r) => r.alert)).toHaveLength(1);
      const rows = (await listIncidents(own.store.db, { limit: 1000 })).filter((r) => r.type === type);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.occurrences).toBe(12);
    } finally {
      await Promise.all(others.map((o) => o.close()));
      await own.dispose();
    }
  });

  it('acknowledge keeps it open and known; resolve ends it; both audited; refusals change nothing', async () => {
    const type = 'lc_ack';
    const { id } = await reportIncident(store().db, report({ type, subject: 'job_ack' }));
    const acked = await acknowledgeIncident(store().db, id, decision('looking into it', 5));
    expect(incidentState(acked)).toBe('acknowledged');
    expect(acked).toMatchObject({ status: 'open', acknowledged_by: 'tester', acknowledged_reason: 'looking into it' });
    await expect(acknowledgeIncident(store().db, id, decision('again', 6))).rejects.toThrow(/acknowledged already by tester/);
    // Acknowledged is still open: a recurrence counts on it.
    expect(await reportIncident(store().db, report({ type, subject: 'job_ack', now: at(7) }))).toMatchObject({ id, occurrences: 2 });

    const resolved = await resolveIncidentBy(store().db, id, decision('fixed the token', 10));
    expect(incidentState(resolved)).toBe('resolved');
    expect(resolved).toMatchObject({ resolved_by: 'tester', resolved_reason: 'fixed the token', resolved_at: at(10).toISOString() });
    await expect(resolveIncidentBy(store().db, id, decision('twice', 11))).rejects.toThrow(IncidentStateError);
    await expect(acknowledgeIncident(store().db, id, decision('late', 11))).rejects.toThrow(/resolved already/);
    await expect(resolveIncidentBy(store().db, 987_654, decision('none', 11))).rejects.toThrow(/no incident #987654/);

    const audit = (await listAudit(store().db, { limit: 1000 })).filter(
      (r) => r.action.startsWith('incident.') && r.input_data !== null && (JSON.parse(r.input_data) as { id: number }).id === id,
    );
    expect(audit.map((r) => [r.action, r.action_type, r.actor, r.reason]).sort()).toEqual([
      ['incident.acknowledge', 'operator', 'tester', 'looking into it'],
      ['incident.resolve', 'operator', 'tester', 'fixed the token'],
    ]);
    // Its key is free again: the next report opens a new incident.
    const again = await reportIncident(store().db, report({ type, subject: 'job_ack', now: at(120) }));
    expect(again).toMatchObject({ created: true, occurrences: 1 });
    expect(again.id).not.toBe(id);
  });

  it('resolveIncidentsOf resolves the type except keepSubjects (or only subjects), one audit row each', async () => {
    const type = 'lc_bulk';
    const ids: Record<string, number> = {};
    for (const subject of ['a', 'b', 'c']) ids[subject] = (await reportIncident(store().db, report({ type, subject }))).id;
    await reportIncident(store().db, report({ type: 'lc_bulk_other', subject: 'a' }));
    const auditBefore = (await listAudit(store().db, { limit: 5000 })).length;

    const kept = await resolveIncidentsOf(store().db, { type, keepSubjects: ['b'] }, decision('back under the threshold', 3));
    expect(kept.map((r) => r.subject).sort()).toEqual(['a', 'c']);
    expect(kept.every((r) => r.resolved_reason === 'back under the threshold')).toBe(true);
    expect((await listOpenIncidents(store().db, { type })).map((r) => r.subject)).toEqual(['b']);
    expect(await listOpenIncidents(store().db, { type: 'lc_bulk_other' })).toHaveLength(1);
    expect((await listAudit(store().db, { limit: 5000 })).length - auditBefore).toBe(2);

    expect(await resolveIncidentsOf(store().db, { type, subjects: [] }, decision('nothing', 4))).toEqual([]);
    const only = await resolveIncidentsOf(store().db, { type, subjects: ['b'] }, decision('cleared', 4));
    expect(only.map((r) => r.id)).toEqual([ids.b]);
    expect(await listOpenIncidents(store().db, { type })).toHaveLength(0);
  });

  it('openIncidentCounts counts open and acknowledged by severity, resolved never', async () => {
    const before = await openIncidentCounts(store().db);
    const sev1 = await reportIncident(store().db, report({ type: 'lc_counts', subject: 'x', severity: 'SEV1' }));
    await reportIncident(store().db, report({ type: 'lc_counts', subject: 'y', severity: 'SEV1' }));
    const info = await reportIncident(store().db, report({ type: 'lc_counts', subject: 'z', severity: 'INFO' }));
    await acknowledgeIncident(store().db, sev1.id, decision('seen'));
    await resolveIncidentBy(store().db, info.id, decision('gone'));
    const after = await openIncidentCounts(store().db);
    expect(after.SEV1).toEqual({ open: before.SEV1.open + 1, acknowledged: before.SEV1.acknowledged + 1 });
    expect(after.INFO).toEqual(before.INFO);
  });
});

/**
 * The resolvers (periodic_scan's update step) on both databases: each type resolves when what it
 * reported cleared after its last occurrence, with the reason, and stays open otherwise.
 */
forEachStore((store) => {
  const T = Date.parse('2026-11-24T10:00:00.000Z');
  const min = (m: number): Date => new Date(T + m * 60_000);
  const deps = () => ({ config: configSchema.parse({}), store: store(), client: undefined as unknown as Client, logger: createLogger('silent'), now: () => min(100) });
  const raise = (type: string, subject: string, m: number, job?: string) =>
    reportIncident(store().db, { type, subject, job, severity: 'WARN', title: `${type} ${subject}`, body: '', now: min(m) });
  const audit = (job: string, outcome: 'succeeded' | 'failed', m: number) =>
    insertAudit(store().db, {
      ts: min(m).toISOString(),
      action: job,
      action_type: 'system',
      success: outcome === 'succeeded' ? 1 : 0,
      outcome,
      error: null,
      duration_ms: 1,
      input_data: '{}',
      output_data: null,
      workflow_id: `${job}-wf-${m}`,
      actor: 'schedule',
      reason: null,
    });
  const syncRow = (source: string, m: number, over: Record<string, unknown>) =>
    store()
      .db.insertInto('data_source_sync')
      .values({ source_name: source as 'notion', updated_at: min(m).toISOString(), last_sync_completed_at: min(m).toISOString(), ...over })
      .execute();
  const stateOf = async (id: number) => (await listIncidents(store().db, { limit: 1000 })).find((i) => i.id === id);

  it('every incident type a producer of ours reports has a resolver', () => {
    for (const type of [...JOB_INCIDENT_TYPES, ...SOURCE_INCIDENT_TYPES, N8N_WORKFLOW_FAILURES, 'health_alert', 'morning_call_failing']) {
      expect(RESOLVED_TYPES.has(type), type).toBe(true);
    }
  });

  it('job incidents: resolved by a success after their last occurrence, not by one before; dead letters by their letters', async () => {
    await audit('rv_job', 'succeeded', 0);
    const streak = await raise('consecutive_failures', 'rv_job', 5);
    const auth = await raise('auth_failure', 'rv_job', 5);
    const letter = await raise('dead_letter', 'rv_job', 5);
    await insertDeadLetter(store().db, { created_at: min(5).toISOString(), job: 'rv_job', workflow_type: 'rv_job', workflow_id: 'rv-1', input: '{}', error: 'x', category: 'internal', attempts: 1 });
    // A letter left for a person (exhausted) is not resolved either.
    await insertDeadLetter(store().db, { created_at: min(5).toISOString(), job: 'rv_job_2', workflow_type: 'rv_job_2', workflow_id: 'rv-2', input: '{}', error: 'x', category: 'internal', attempts: 1 });
    const exhausted = (await listDeadLetters(store().db, {})).find((l) => l.workflow_id === 'rv-2')!;
    await recordReplayOutcome(store().db, exhausted.id, { succeeded: false, exhausted: true, now: min(6), countsAsAttempt: true });
    const letter2 = await raise('dead_letter', 'rv_job_2', 6);

    let updated = await updateIncidents(deps(), min(10));
    expect(updated.resolved.map((r) => r.id)).not.toEqual(expect.arrayContaining([streak.id]));
    for (const id of [streak.id, auth.id, letter.id, letter2.id]) expect(await stateOf(id)).toMatchObject({ status: 'open' });

    await audit('rv_job', 'succeeded', 20);
    updated = await updateIncidents(deps(), min(30));
    const mine = updated.resolved.filter((r) => r.subject === 'rv_job');
    expect(mine.map((r) => r.type).sort()).toEqual(['auth_failure', 'consecutive_failures', 'dead_letter']);
    expect(mine.every((r) => /^rv_job succeeded at 2026-11-24T10:20:00.000Z \(rv_job-wf-20\)$/.test(r.reason))).toBe(true);
    expect(await stateOf(streak.id)).toMatchObject({ status: 'resolved', resolved_by: 'periodic_scan', resolved_at: min(30).toISOString() });
    expect(await stateOf(letter2.id)).toMatchObject({ status: 'open' });

    // Its letter resolved (replayed): the dead_letter incident resolves, with that reason.
    await recordReplayOutcome(store().db, exhausted.id, { succeeded: true, now: min(40), countsAsAttempt: false });
    updated = await updateIncidents(deps(), min(41));
    expect(updated.resolved.find((r) => r.id === letter2.id)).toMatchObject({ reason: 'every dead letter of rv_job_2 is resolved' });
  });

  it('source incidents: resolved once the source synced after them; a legacy row (no subject) by its job', async () => {
    const unreachable = await raise('source_unreachable', 'source:notion', 5, 'periodic_scan');
    const auth = await raise('auth_failure', 'source:hubspot', 5, 'sync_hubspot');
    // A row from before the lifecycle: no subject, its sync job named.
    const { id: legacy } = await raiseIncident(store().db, { type: 'source_unreachable', severity: 'WARN', title: 'old', body: '', job: 'sync_hubspot', now: min(5) });
    await syncRow('notion', 20, { consecutive_failures: 0, last_sync_success: 1 });
    await syncRow('hubspot', 20, { consecutive_failures: 2, last_sync_success: 0 });
    let updated = await updateIncidents(deps(), min(30));
    expect(updated.resolved.filter((r) => [unreachable.id, auth.id, legacy].includes(r.id))).toEqual([
      { id: unreachable.id, type: 'source_unreachable', subject: 'source:notion', reason: 'notion synced at 2026-11-24T10:20:00.000Z' },
    ]);
    await store().db.updateTable('data_source_sync').set({ consecutive_failures: 0, last_sync_success: 1, updated_at: min(40).toISOString() }).where('source_name', '=', 'hubspot').execute();
    updated = await updateIncidents(deps(), min(50));
    expect(updated.resolved.map((r) => r.id).sort()).toEqual(expect.arrayContaining([auth.id, legacy]));
  });

  it('n8n workflow failures: resolved by a complete n8n sync after the last one that saw the workflow fail', async () => {
    const wf = await raise(N8N_WORKFLOW_FAILURES, 'wf-rv', 30);
    await syncRow('n8n', 30, { consecutive_failures: 0, last_sync_success: 1 });
    let updated = await updateIncidents(deps(), min(31));
    expect(updated.resolved.map((r) => r.id)).not.toContain(wf.id);
    await store().db.updateTable('data_source_sync').set({ last_sync_completed_at: min(60).toISOString() }).where('source_name', '=', 'n8n').execute();
    updated = await updateIncidents(deps(), min(61));
    expect(updated.resolved.find((r) => r.id === wf.id)?.reason).toBe('n8n synced at 2026-11-24T11:00:00.000Z with no failure of workflow wf-rv');
  });

  it('health_alert: resolved by a healthy check after it; morning_call_failing by a call that went through', async () => {
    const health = await raise('health_alert', 'system', 70);
    const call = await raise('morning_call_failing', 'morning_call', 70);
    await insertHealthCheck(store().db, { ts: min(65).toISOString(), workflow_id: 'hm-before', healthy: 1, checks: '{}' });
    await openNotification(store().db, { idempotencyKey: 'rv-call-1', severity: 'INFO', type: 'morning_call', title: 'call', body: '', route: 'call', now: min(75) });
    let updated = await updateIncidents(deps(), min(80));
    expect(updated.resolved.map((r) => r.id)).not.toEqual(expect.arrayContaining([health.id]));
    expect(updated.resolved.map((r) => r.id)).not.toEqual(expect.arrayContaining([call.id]));

    await insertHealthCheck(store().db, { ts: min(85).toISOString(), workflow_id: 'hm-ok', healthy: 1, checks: '{}' });
    await store().db.updateTable('notifications').set({ status: 'sent' }).where('idempotency_key', '=', 'rv-call-1').execute();
    updated = await updateIncidents(deps(), min(90));
    expect(updated.resolved.find((r) => r.id === health.id)?.reason).toBe('health OK again at 2026-11-24T11:25:00.000Z (hm-ok)');
    expect(updated.resolved.find((r) => r.id === call.id)?.reason).toBe('a morning call went through at 2026-11-24T11:15:00.000Z');
  });

  it('an incident resolved by hand in between is skipped, not an error', async () => {
    const hand = await raise('consecutive_failures', 'rv_hand', 95);
    await audit('rv_hand', 'succeeded', 96);
    await resolveIncidentBy(store().db, hand.id, { actor: 'operator', reason: 'fixed', now: min(97) });
    const updated = await updateIncidents(deps(), min(98));
    expect(updated.resolved.map((r) => r.id)).not.toContain(hand.id);
    expect(updated.failed).toEqual([]);
    expect(await stateOf(hand.id)).toMatchObject({ resolved_by: 'operator' });
  });
});
