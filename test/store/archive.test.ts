import { expect, it } from 'vitest';
import {
  archiveOldData,
  getDeadLetter,
  insertAudit,
  insertDeadLetter,
  listDeadLetters,
  listIncidents,
  OPS_TABLES,
  raiseIncident,
  recordReplayOutcome,
  resolveIncidentBy,
} from '../../src/store';
import { countRows, DAY, forEachStore, iso } from './fixtures';

const NOW = Date.parse('2027-06-01T00:00:00.000Z');
const RETENTION = { now: new Date(NOW), auditDays: 365, deadLetterDays: 30, incidentDays: 90 };

forEachStore((store) => {
  const db = () => store().db;

  async function audit(ageDays: number): Promise<void> {
    await insertAudit(db(), { ts: iso(NOW - ageDays * DAY), action: 'periodic_scan', action_type: 'system', success: 1, outcome: 'succeeded' });
  }
  async function deadLetter(ageDays: number, resolvedDaysAgo?: number, exhausted = false): Promise<number> {
    const id = await insertDeadLetter(db(), {
      created_at: iso(NOW - ageDays * DAY),
      job: 'sync_n8n',
      workflow_id: `wf-${ageDays}-${resolvedDaysAgo ?? 'open'}`,
      input: '{}',
      error: 'e',
      category: 'transient',
      attempts: 5,
    });
    if (resolvedDaysAgo !== undefined || exhausted) {
      await recordReplayOutcome(db(), id, {
        succeeded: !exhausted,
        exhausted,
        now: new Date(NOW - (resolvedDaysAgo ?? ageDays) * DAY),
        countsAsAttempt: true,
      });
    }
    return id;
  }
  async function incident(ageDays: number, resolvedDaysAgo?: number): Promise<number> {
    const { id } = await raiseIncident(db(), { type: 't', severity: 'INFO', title: `age ${ageDays}`, body: '', now: new Date(NOW - ageDays * DAY) });
    if (resolvedDaysAgo !== undefined) await resolveIncidentBy(db(), id, { actor: 'test', reason: 'resolved for the test', now: new Date(NOW - resolvedDaysAgo * DAY) });
    return id;
  }

  it('flags what retention says is old, keeps everything else in view, deletes nothing, and is idempotent', async () => {
    await audit(400);
    await audit(366);
    await audit(364);
    await audit(1);
    const oldResolvedLetter = await deadLetter(100, 31);
    const recentResolvedLetter = await deadLetter(100, 29);
    const oldOpenLetter = await deadLetter(500);
    const oldExhaustedLetter = await deadLetter(500, undefined, true);
    const oldResolvedIncident = await incident(200, 91);
    await incident(200, 89);
    await incident(500);

    const before = await Promise.all(OPS_TABLES.map((t) => countRows(store(), t)));
    expect(await archiveOldData(db(), RETENTION)).toEqual({ audit: 2, deadLetters: 1, incidents: 1 });
    expect(await Promise.all(OPS_TABLES.map((t) => countRows(store(), t)))).toEqual(before);

    expect(await getDeadLetter(db(), oldResolvedLetter)).toMatchObject({ archived: 1, archived_at: iso(NOW) });
    for (const id of [recentResolvedLetter, oldOpenLetter, oldExhaustedLetter]) {
      expect(await getDeadLetter(db(), id)).toMatchObject({ archived: 0, archived_at: null });
    }
    expect((await listDeadLetters(db())).map((l) => l.id)).not.toContain(oldResolvedLetter);
    expect((await listDeadLetters(db(), { includeArchived: true })).map((l) => l.id)).toContain(oldResolvedLetter);
    expect((await listIncidents(db())).map((i) => i.id)).not.toContain(oldResolvedIncident);
    expect(await listIncidents(db())).toHaveLength(2);
    const archivedIncident = (await listIncidents(db(), { includeArchived: true })).find((i) => i.id === oldResolvedIncident);
    expect(archivedIncident).toMatchObject({ archived: 1, archived_at: iso(NOW) });

    expect(await archiveOldData(db(), RETENTION)).toEqual({ audit: 0, deadLetters: 0, incidents: 0 });
    const aDayLater = { ...RETENTION, now: new Date(NOW + 2 * DAY) };
    expect(await archiveOldData(db(), aDayLater)).toEqual({ audit: 1, deadLetters: 1, incidents: 1 });
    expect(await Promise.all(OPS_TABLES.map((t) => countRows(store(), t)))).toEqual(before);
  });
});
