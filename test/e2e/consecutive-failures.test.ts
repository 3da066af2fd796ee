import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors';
import { listIncidents, listNotifications } from '../../src/store';
import { startSystem, startTestJob, type TestSystem } from '../helpers/system';

describe('consecutive failures of one job', () => {
  let sys: TestSystem;
  let n = 0;
  /** The activities' clock: the hourly alert window is passed by moving it, never by waiting. */
  let clock = Date.parse('2026-11-20T08:00:00.000Z');
  beforeAll(async () => {
    sys = await startSystem({ now: () => new Date(clock) });
    sys.acts.faults.set('bad', { times: Number.MAX_SAFE_INTEGER, error: () => new ValidationError('bad payload') });
  });
  afterAll(async () => {
    await sys.close();
  });

  const run = (fault: string) =>
    startTestJob(sys, 'faultyJob', `streak-${++n}`, { params: { fault } }).then((id) => sys.ops.jobResult(id));
  const streaks = async () => (await listIncidents(sys.store.db, { limit: 1000 })).filter((i) => i.type === 'consecutive_failures' && i.job === 'sync_hubspot');
  const alerts = async () => (await streaks()).filter((i) => i.status === 'open');
  const alerted = async (incidentId: number) => (await listNotifications(sys.store.db, { limit: 1000 })).some((x) => x.incident_id === incidentId);

  /** Each test starts from no streak and no open streak alert, and past the hour of the last one. */
  async function noStreak(): Promise<void> {
    clock += 2 * 3600_000;
    expect((await run('fine')).outcome).toBe('succeeded');
    expect(await alerts()).toHaveLength(0);
  }

  it('two failures, a success, two failures: no alert (a success ends the streak)', async () => {
    await noStreak();
    await run('bad');
    await run('bad');
    expect((await run('fine')).outcome).toBe('succeeded');
    await run('bad');
    await run('bad');
    expect(await alerts()).toHaveLength(0);
  });

  it('the third failure in a row raises one alert incident; the fourth counts on it', async () => {
    await noStreak();
    await run('bad');
    await run('bad');
    expect(await alerts()).toHaveLength(0);
    await run('bad');
    expect(await alerts()).toHaveLength(1);
    const [first] = await alerts();
    expect(first).toMatchObject({ severity: 'WARN', status: 'open', subject: 'sync_hubspot', occurrences: 1 });
    expect(first!.title).toContain('3 times in a row');
    expect(await alerted(first!.id)).toBe(true);
    await run('bad');
    expect(await alerts()).toMatchObject([{ id: first!.id, occurrences: 2, title: expect.stringContaining('4 times in a row') }]);
  });

  it('a success resolves the streak incident with its reason; the next streak alerts again', async () => {
    await noStreak();
    for (let i = 0; i < 3; i++) await run('bad');
    const [first] = await alerts();
    expect(first).toBeDefined();
    clock += 10 * 60_000;
    const ok = await run('fine');
    const resolved = (await streaks()).find((i) => i.id === first!.id);
    expect(resolved).toMatchObject({ status: 'resolved', resolved_reason: `sync_hubspot succeeded (${ok.workflowId})` });

    clock += 61 * 60_000;
    for (let i = 0; i < 3; i++) await run('bad');
    const [second] = await alerts();
    expect(second!.id).not.toBe(first!.id);
    expect(await alerted(second!.id)).toBe(true);
  });

  it('a second streak within the hour of the last streak alert is recorded, not alerted again (one per type per hour)', async () => {
    await noStreak();
    for (let i = 0; i < 3; i++) await run('bad');
    const [first] = await alerts();
    expect(await alerted(first!.id)).toBe(true);
    clock += 5 * 60_000;
    await run('fine');
    clock += 5 * 60_000;
    for (let i = 0; i < 3; i++) await run('bad');
    const [second] = await alerts();
    expect(second!.id).not.toBe(first!.id);
    expect(await alerted(second!.id)).toBe(false);
  });
});
