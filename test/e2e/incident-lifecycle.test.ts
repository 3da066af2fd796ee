/**
 * The incident lifecycle end to end, on SQLite and PostgreSQL: failed runs recur on one open
 * incident, and periodic_scan's step 5 (update incidents) resolves what cleared, with the reason,
 * while what has not cleared stays open. The activities' clock is injected: windows are passed by
 * moving it, never by waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors';
import { insertHealthCheck, listIncidents, listOpenIncidents, recordReplayOutcome, reportIncident, type IncidentRow } from '../../src/store';
import { startSystem, startTestJob, type TestSystem } from '../helpers/system';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`incident lifecycle on ${dialect}`, () => {
    let sys: TestSystem;
    let n = 0;
    let clock = Date.parse('2026-11-21T09:00:00.000Z');
    const now = () => new Date(clock);
    beforeAll(async () => {
      // No source configured: periodic_scan runs its update step, then ends skipped (nothing to sync).
      sys = await startSystem({ dialect, now });
      sys.acts.faults.set('bad', { times: Number.MAX_SAFE_INTEGER, error: () => new ValidationError('bad payload') });
    });
    afterAll(async () => {
      await sys.close();
    });

    const run = (fault: string) => startTestJob(sys, 'faultyJob', `lc-${dialect}-${++n}`, { params: { fault } }).then((id) => sys.ops.jobResult(id));
    const byId = async (id: number): Promise<IncidentRow | undefined> => (await listIncidents(sys.store.db, { limit: 1000 })).find((i) => i.id === id);

    it('failed runs recur on one open dead_letter incident; the scan resolves it once every dead letter of the job is resolved', async () => {
      for (let i = 0; i < 4; i++) {
        await run('bad');
        clock += 30 * 60_000;
      }
      const [incident, ...more] = await listOpenIncidents(sys.store.db, { type: 'dead_letter', subject: 'sync_hubspot' });
      expect(more).toHaveLength(0);
      expect(incident).toMatchObject({ occurrences: 4, severity: 'INFO', job: 'sync_hubspot' });
      const streak = (await listOpenIncidents(sys.store.db, { type: 'consecutive_failures', subject: 'sync_hubspot' }))[0];
      expect(streak).toMatchObject({ occurrences: 2 });

      // Nothing cleared yet: the scan leaves both open.
      clock += 60_000;
      await sys.ops.runJob('periodic_scan');
      expect(await byId(incident!.id)).toMatchObject({ status: 'open' });
      expect(await byId(streak!.id)).toMatchObject({ status: 'open' });

      // Every letter replayed by hand (as `opsctl dead-letters replay` would record it).
      const letters = (await sys.ops.listDeadLetters()).filter((l) => l.job === 'sync_hubspot' && l.status === 'open');
      expect(letters).toHaveLength(4);
      for (const letter of letters) await recordReplayOutcome(sys.store.db, letter.id, { succeeded: true, now: now(), countsAsAttempt: false });
      clock += 60_000;
      await sys.ops.runJob('periodic_scan');
      expect(await byId(incident!.id)).toMatchObject({ status: 'resolved', resolved_by: 'periodic_scan', resolved_reason: 'every dead letter of sync_hubspot is resolved' });
      // The streak has not ended: no success since.
      expect(await byId(streak!.id)).toMatchObject({ status: 'open' });
    });

    it('health OK again, a source synced again: the scan resolves them with the reason; a later recurrence opens a new incident', async () => {
      const health = await reportIncident(sys.store.db, { type: 'health_alert', subject: 'system', severity: 'WARN', title: 'System Health Degraded', body: 'disk', job: 'health_monitor', now: now() });
      const stale = await reportIncident(sys.store.db, { type: 'source_unreachable', subject: 'source:notion', severity: 'WARN', title: 'Notion sync failed 3 times in a row', body: '', now: now() });
      clock += 60_000;
      await insertHealthCheck(sys.store.db, { ts: now().toISOString(), workflow_id: 'hm-test', healthy: 1, checks: '{}' });
      clock += 60_000;
      await sys.ops.runJob('periodic_scan');
      expect(await byId(health.id)).toMatchObject({ status: 'resolved', resolved_reason: expect.stringMatching(/^health OK again at .* \(hm-test\)$/) });
      // Notion never synced here: its incident stays open.
      expect(await byId(stale.id)).toMatchObject({ status: 'open' });

      clock += 60_000;
      const again = await reportIncident(sys.store.db, { type: 'health_alert', subject: 'system', severity: 'WARN', title: 'System Health Degraded', body: 'disk', now: now() });
      expect(again).toMatchObject({ created: true, occurrences: 1 });
      expect(again.id).not.toBe(health.id);
    });

    it('the kill switch stops the update step like any activity: nothing is resolved while it is on', async () => {
      const health = (await listOpenIncidents(sys.store.db, { type: 'health_alert' }))[0]!;
      clock += 60_000;
      await insertHealthCheck(sys.store.db, { ts: now().toISOString(), workflow_id: 'hm-test-2', healthy: 1, checks: '{}' });
      clock += 60_000;
      await sys.ops.changeControls({ killSwitch: true, actor: 'test', reason: 'stop everything' });
      try {
        const result = await sys.ops.runJob('periodic_scan');
        expect(result).toMatchObject({ outcome: 'skipped', reason: 'Kill switch is active' });
        expect(await byId(health.id)).toMatchObject({ status: 'open' });
      } finally {
        await sys.ops.changeControls({ killSwitch: false, actor: 'test', reason: 'resume' });
      }
      await sys.ops.runJob('periodic_scan');
      expect(await byId(health.id)).toMatchObject({ status: 'resolved', resolved_reason: expect.stringContaining('hm-test-2') });
    });
  });
}
