import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors';
import { listIncidents, resolveIncident } from '../../src/store';
import { startSystem, startTestJob, type TestSystem } from '../helpers/system';

describe('consecutive failures of one job', () => {
  let sys: TestSystem;
  let n = 0;
  beforeAll(async () => {
    sys = await startSystem();
    sys.acts.faults.set('bad', { times: Number.MAX_SAFE_INTEGER, error: () => new ValidationError('bad payload') });
  });
  afterAll(async () => {
    await sys.close();
  });

  const run = (fault: string) =>
    startTestJob(sys, 'faultyJob', `streak-${++n}`, { params: { fault } }).then((id) => sys.ops.jobResult(id));
  const alerts = async () =>
    (await listIncidents(sys.store.db, { status: 'open' })).filter((i) => i.type === 'consecutive_failures' && i.job === 'sync_hubspot');

  /**
   * Each test starts from no streak and no open streak alert, whatever ran before it: a success
   * ends any streak, and an operator resolving the alert is what lets the next streak raise one.
   */
  async function noStreak(): Promise<void> {
    expect((await run('fine')).outcome).toBe('succeeded');
    for (const incident of await alerts()) await resolveIncident(sys.store.db, incident.id, new Date());
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

  it('the third failure in a row raises one alert incident; the fourth adds none', async () => {
    await noStreak();
    await run('bad');
    await run('bad');
    expect(await alerts()).toHaveLength(0);
    await run('bad');
    expect(await alerts()).toHaveLength(1);
    expect((await alerts())[0]).toMatchObject({ severity: 'WARN', status: 'open' });
    expect((await alerts())[0]!.title).toContain('3 times in a row');
    await run('bad');
    expect(await alerts()).toHaveLength(1);
  });
});
