import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { insertAudit, insertDeadLetter, listIncidents, raiseIncident, resolveIncidentBy } from '../../src/store';
import { startSystem, type TestSystem } from '../helpers/system';

const DAY = 24 * 3600_000;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`health_monitor and cleanup_old_data on ${dialect}`, () => {
    let sys: TestSystem;
    beforeAll(async () => {
      sys = await startSystem({ dialect, config: { limits: { minFreeDiskMb: 1 } } });
    });
    afterAll(async () => {
      await sys.close();
    });

    it('health_monitor records a healthy run', async () => {
      const result = await sys.ops.runJob('health_monitor');
      expect(result.outcome).toBe('succeeded');
      expect(result.output).toMatchObject({
        healthy: true,
        alerted: false,
        report: {
          store: { ok: true },
          temporal: { ok: true },
          disk: { ok: true },
          // No API is configured here: not configured is neither healthy nor unhealthy.
          apis: { notion: { configured: false }, n8n: { configured: false }, hubspot: { configured: false } },
        },
      });
    });

    it('cleanup_old_data archives old rows and deletes nothing', async () => {
      const now = Date.now();
      const iso = (ms: number) => new Date(ms).toISOString();
      const db = sys.store.db;
      await insertAudit(db, { ts: iso(now - 400 * DAY), action: 'periodic_scan', action_type: 'system', success: 1, outcome: 'succeeded' });
      await insertAudit(db, { ts: iso(now - 10 * DAY), action: 'periodic_scan', action_type: 'system', success: 1, outcome: 'succeeded' });
      const oldIncident = await raiseIncident(db, { type: 't', severity: 'INFO', title: 'old', body: '', now: new Date(now - 100 * DAY) });
      await resolveIncidentBy(db, oldIncident.id, { actor: 'test', reason: 'old', now: new Date(now - 95 * DAY) });
      const freshIncident = await raiseIncident(db, { type: 't', severity: 'INFO', title: 'fresh', body: '', now: new Date(now - 2 * DAY) });
      await resolveIncidentBy(db, freshIncident.id, { actor: 'test', reason: 'fresh', now: new Date(now - DAY) });
      await insertDeadLetter(db, { created_at: iso(now - 60 * DAY), job: 'sync_n8n', workflow_id: 'w', input: '{}', error: 'e', category: 'transient', attempts: 5 });
      const count = async (table: string) =>
        Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]!.n);
      const before = { audit: await count('agent_audit_log'), incidents: await count('incidents'), letters: await count('dead_letters') };

      const result = await sys.ops.runJob('cleanup_old_data');
      expect(result.outcome).toBe('succeeded');
      expect(result.output).toMatchObject({ archived: { audit: 1, incidents: 1, deadLetters: 0 } });
      expect({ audit: await count('agent_audit_log'), incidents: await count('incidents'), letters: await count('dead_letters') }).toEqual({
        ...before,
        audit: before.audit + 1, // the cleanup run's own audit row
      });
      const again = await sys.ops.runJob('cleanup_old_data');
      expect(again.output).toMatchObject({ archived: { audit: 0, incidents: 0, deadLetters: 0 } });
    });

    it('a degraded system raises "System Health Degraded" at most once per hour', async () => {
      const degraded = await startSystem({ dialect, config: { limits: { minFreeDiskMb: 1e9 } } });
      try {
        const first = await degraded.ops.runJob('health_monitor');
        const second = await degraded.ops.runJob('health_monitor');
        expect(first.output).toMatchObject({ healthy: false, alerted: true });
        expect(second.output).toMatchObject({ healthy: false, alerted: false });
        const alerts = (await listIncidents(degraded.store.db, {})).filter((i) => i.type === 'health_alert');
        expect(alerts).toHaveLength(1);
        expect(alerts[0]).toMatchObject({ subject: 'system', severity: 'WARN', title: 'System Health Degraded', status: 'open', occurrences: 2 });
        expect(alerts[0]!.body).toContain('disk');
      } finally {
        await degraded.close();
      }
    });
  });
}
