import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors';
import { listIncidents } from '../../src/store';
import { startSystem, startTestJob, type TestSystem } from '../helpers/system';

// A streak is the job's history of runs, so each test builds its own on a system of its own:
// any test passes alone and in any order.
describe('consecutive failures of one job', () => {
  let sys: TestSystem;
  let n = 0;
  beforeEach(async () => {
    sys = await startSystem();
    sys.acts.faults.set('bad', { times: Number.MAX_SAFE_INTEGER, error: () => new ValidationError('bad payload') });
  });
  afterEach(async () => {
    await sys.close();
  });

  const run = (fault: string) =>
    startTestJob(sys, 'faultyJob', `streak-${++n}`, { params: { fault } }).then((id) => sys.ops.jobResult(id));
  const alerts = async () =>
    (await listIncidents(sys.store.db, {})).filter((i) => i.type === 'consecutive_failures' && i.job === 'sync_hubspot');

  it('two failures, a success, two failures: no alert (a success ends the streak)', async () => {
    await run('bad');
    await run('bad');
    expect((await run('fine')).outcome).toBe('succeeded');
    await run('bad');
    await run('bad');
    expect(await alerts()).toHaveLength(0);
  });

  it('the third failure in a row raises one alert incident; the fourth adds none', async () => {
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
