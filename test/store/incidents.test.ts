import { expect, it } from 'vitest';
import { hasOpenIncident, IncidentStateError, listIncidents, raiseIncident, resolveIncidentBy, type NewIncident } from '../../src/store';
import { forEachStore } from './fixtures';

const HOUR = 3600_000;
const t0 = new Date('2026-02-01T10:00:00.000Z');
const later = (ms: number) => new Date(t0.getTime() + ms);

forEachStore((store) => {
  const db = () => store().db;
  const raise = (over: Partial<NewIncident> & { now: Date }) =>
    raiseIncident(db(), { type: 'health_alert', severity: 'WARN', title: 'System Health Degraded', body: 'disk', ...over });

  it('without a dedupe key every call creates an incident', async () => {
    const a = await raise({ type: 'plain', now: t0 });
    const b = await raise({ type: 'plain', now: t0 });
    expect([a.created, b.created]).toEqual([true, true]);
    expect(a.id).not.toBe(b.id);
  });

  it('with a dedupe key: one per window, the existing one returned within it', async () => {
    const key = 'window-key';
    const first = await raise({ dedupeKey: key, dedupeWindowMs: HOUR, now: t0, job: 'health_monitor', relatedWorkflowId: 'wf-1' });
    expect(first.created).toBe(true);
    expect(await raise({ dedupeKey: key, dedupeWindowMs: HOUR, now: later(HOUR - 1000) })).toEqual({ created: false, id: first.id });
    expect(await raise({ dedupeKey: 'another-key', dedupeWindowMs: HOUR, now: later(1000) })).toMatchObject({ created: true });
    const next = await raise({ dedupeKey: key, dedupeWindowMs: HOUR, now: later(HOUR + 1000) });
    expect(next.created).toBe(true);
    const rows = (await listIncidents(db())).filter((i) => i.dedupe_key === key);
    expect(rows.map((r) => r.id)).toEqual([next.id, first.id]);
    expect(rows[1]).toMatchObject({ job: 'health_monitor', related_workflow_id: 'wf-1', status: 'open', created_at: t0.toISOString(), severity: 'WARN' });
  });

  it('concurrent raisers of one key: exactly one incident per key', async () => {
    // Warm connections, so that the raisers really overlap instead of queueing behind connects.
    await Promise.all(Array.from({ length: 10 }, () => listIncidents(db(), { limit: 1 })));
    const keys = Array.from({ length: 20 }, (_, k) => `race-${k}`);
    const results = await Promise.all(
      keys.flatMap((key) => Array.from({ length: 5 }, () => raise({ dedupeKey: key, dedupeWindowMs: HOUR, now: t0 }).then((r) => ({ key, ...r })))),
    );
    for (const key of keys) {
      const mine = results.filter((r) => r.key === key);
      expect(mine.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(mine.map((r) => r.id)).size).toBe(1);
    }
    const stored = (await listIncidents(db(), { limit: 1000 })).filter((i) => i.dedupe_key?.startsWith('race-'));
    expect(stored).toHaveLength(keys.length);
  });

  it('resolve, list by status, and the open check', async () => {
    const { id } = await raise({ type: 'consecutive_failures', job: 'sync_notion', now: t0 });
    expect(await hasOpenIncident(db(), { types: ['consecutive_failures'], job: 'sync_notion' })).toBe(true);
    expect(await hasOpenIncident(db(), { types: ['consecutive_failures'], job: 'sync_n8n' })).toBe(false);
    expect((await listIncidents(db(), { status: 'open' })).map((i) => i.id)).toContain(id);
    const by = (at: Date) => ({ actor: 'test', reason: 'cleared', now: at });
    expect(await resolveIncidentBy(db(), id, by(later(HOUR)))).toMatchObject({ id, status: 'resolved' });
    await expect(resolveIncidentBy(db(), id, by(later(2 * HOUR)))).rejects.toThrow(IncidentStateError);
    expect(await hasOpenIncident(db(), { types: ['consecutive_failures'], job: 'sync_notion' })).toBe(false);
    const resolved = await listIncidents(db(), { status: 'resolved' });
    expect(resolved.map((i) => [i.id, i.resolved_at])).toEqual([[id, later(HOUR).toISOString()]]);
    expect((await listIncidents(db(), { status: 'open' })).map((i) => i.id)).not.toContain(id);
    expect(await listIncidents(db(), { limit: 2 })).toHaveLength(2);
  });

  it('a severity outside the spec is refused by the database', async () => {
    await expect(raise({ severity: 'HIGH' as 'WARN', now: t0 })).rejects.toThrow(/check/i);
  });
});
