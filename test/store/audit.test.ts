import { expect, it } from 'vitest';
import { archiveOldData, consecutiveFailures, insertAudit, listAudit, type RunOutcome } from '../../src/store';
import { forEachStore } from './fixtures';

forEachStore((store) => {
  const db = () => store().db;
  let clock = Date.parse('2026-01-01T00:00:00.000Z');
  /** One run of `job`, a minute after the previous one. */
  const run = (job: string, outcome: RunOutcome) => {
    clock += 60_000;
    return insertAudit(db(), {
      ts: new Date(clock).toISOString(),
      action: job,
      action_type: 'system',
      success: outcome === 'succeeded' ? 1 : 0,
      outcome,
      error: outcome === 'failed' ? 'boom' : null,
    });
  };

  it('lists newest first, by job and since a time, up to a limit (100 by default)', async () => {
    for (let i = 0; i < 105; i++) await run('list_job', i % 2 ? 'succeeded' : 'failed');
    await run('other_job', 'succeeded');
    const all = await listAudit(db(), { job: 'list_job' });
    expect(all).toHaveLength(100);
    expect(all.every((r) => r.action === 'list_job')).toBe(true);
    const stamps = all.map((r) => r.ts);
    expect(stamps).toEqual([...stamps].sort().reverse());
    expect(await listAudit(db(), { job: 'list_job', limit: 3 })).toHaveLength(3);
    const since = new Date(Date.parse(stamps[4]!));
    expect((await listAudit(db(), { job: 'list_job', since })).map((r) => r.ts)).toEqual(stamps.slice(0, 5));
    expect((await listAudit(db(), { limit: 1 }))[0]).toMatchObject({ action: 'other_job' });
  });

  it('hides archived rows unless asked for them', async () => {
    const job = 'archived_job';
    await insertAudit(db(), { ts: '2020-01-01T00:00:00.000Z', action: job, action_type: 'system', success: 1, outcome: 'succeeded' });
    await run(job, 'succeeded');
    await archiveOldData(db(), { now: new Date('2024-01-01T00:00:00.000Z'), auditDays: 365, deadLetterDays: 30, incidentDays: 90 });
    expect(await listAudit(db(), { job })).toHaveLength(1);
    const all = await listAudit(db(), { job, includeArchived: true });
    expect(all.map((r) => [r.ts, r.archived])).toEqual([
      [new Date(clock).toISOString(), 0],
      ['2020-01-01T00:00:00.000Z', 1],
    ]);
  });

  it('consecutive failures: failed runs since the last success; skipped runs neither break nor extend', async () => {
    const job = 'streak_job';
    expect(await consecutiveFailures(db(), job)).toBe(0);
    await run(job, 'failed');
    await run(job, 'failed');
    expect(await consecutiveFailures(db(), job)).toBe(2);
    await run(job, 'succeeded');
    expect(await consecutiveFailures(db(), job)).toBe(0);
    await run(job, 'failed');
    await run(job, 'skipped');
    await run(job, 'skipped');
    expect(await consecutiveFailures(db(), job)).toBe(1);
    await run(job, 'failed');
    await run('another_job', 'succeeded');
    await run(job, 'failed');
    expect(await consecutiveFailures(db(), job)).toBe(3);
    expect(await consecutiveFailures(db(), 'another_job')).toBe(0);
  });

  it('only skipped runs make no streak', async () => {
    await run('skipping_job', 'skipped');
    await run('skipping_job', 'skipped');
    expect(await consecutiveFailures(db(), 'skipping_job')).toBe(0);
  });
});
