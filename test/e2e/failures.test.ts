import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, DatabaseError, ExternalApiError, TransientError, ValidationError } from '../../src/errors';
import { getDeadLetter, listDeadLetters, listIncidents } from '../../src/store';
import { FAST_RETRY, startSystem, startTestJob, type TestSystem } from '../helpers/system';

const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

describe('retry policy by error category, dead letters, alerts', () => {
  let sys: TestSystem;
  let n = 0;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys.close();
  });

  async function runFaulty(fault: string, times: number, error: () => Error) {
    sys.acts.faults.set(fault, { times, error });
    const id = await startTestJob(sys, 'faultyJob', `faulty-${fault}-${++n}`, { params: { fault } });
    return sys.ops.jobResult(id);
  }

  it('transient: retried with the policy backoff (x2 from the initial delay) and then succeeds', async () => {
    const result = await runFaulty('transient-4', 4, () => new TransientError('connection reset'));
    expect(result.outcome).toBe('succeeded');
    const attempts = sys.acts.attempts('transient-4');
    expect(attempts).toHaveLength(5);
    const expected = [0, 1, 2, 3].map((i) => Math.min(FAST_RETRY.initialDelayMs * 2 ** i, FAST_RETRY.maxDelayMs));
    gaps(attempts).forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(expected[i]! * 0.9);
      expect(gap).toBeLessThan(expected[i]! + 3000);
    });
  });

  it('auth: never retried, fails at once with an alert incident', async () => {
    const result = await runFaulty('auth', 5, () => new AuthError('401 Unauthorized: token revoked'));
    expect(result).toMatchObject({ outcome: 'failed', category: 'auth' });
    expect(sys.acts.attempts('auth')).toHaveLength(1);
    const incidents = await listIncidents(sys.store.db, { status: 'open' });
    // The spec's table: auth is WARN, at once (no streak needed).
    expect(incidents.find((i) => i.type === 'auth_failure' && i.related_workflow_id === result.workflowId)).toMatchObject({ severity: 'WARN', subject: 'sync_hubspot' });
  });

  it('data validation: never retried', async () => {
    const result = await runFaulty('validation', 5, () => new ValidationError('results[0].id: expected string'));
    expect(result).toMatchObject({ outcome: 'failed', category: 'validation', error: 'results[0].id: expected string' });
    expect(sys.acts.attempts('validation')).toHaveLength(1);
  });

  it('database: retried once', async () => {
    const result = await runFaulty('database', 5, () => new DatabaseError('SQLITE_BUSY: database is locked'));
    expect(result).toMatchObject({ outcome: 'failed', category: 'database' });
    expect(sys.acts.attempts('database')).toHaveLength(2);
  });

  it("external API: a 429's Retry-After replaces the backoff", async () => {
    const result = await runFaulty('retry-after', 1, () => new ExternalApiError('429 Too Many Requests', 429, { retryAfterMs: 1500 }));
    expect(result.outcome).toBe('succeeded');
    const [gap] = gaps(sys.acts.attempts('retry-after'));
    expect(gap).toBeGreaterThanOrEqual(1400);
  });

  it('exhausted retries: a dead letter with job, workflow id, input, error, category, attempts, and an INFO incident (transient, first failure); replay re-runs it and resolves both', async () => {
    const result = await runFaulty('exhaust', 100, () => new TransientError('upstream timeout'));
    expect(result).toMatchObject({ outcome: 'failed', category: 'transient' });
    expect(sys.acts.attempts('exhaust')).toHaveLength(FAST_RETRY.maxAttempts);
    const letter = (await listDeadLetters(sys.store.db, {})).find((l) => l.workflow_id === result.workflowId);
    expect(letter).toMatchObject({
      job: 'sync_hubspot',
      workflow_type: 'faultyJob',
      error: 'upstream timeout',
      category: 'transient',
      attempts: FAST_RETRY.maxAttempts,
      status: 'open',
    });
    expect(JSON.parse(letter!.input as string)).toMatchObject({ params: { fault: 'exhaust' } });
    const incidents = await listIncidents(sys.store.db, { status: 'open' });
    const incident = incidents.find((i) => i.type === 'dead_letter' && i.related_workflow_id === result.workflowId);
    // The spec's table: a transient failure is INFO until it persists (3 in a row).
    expect(incident).toMatchObject({ severity: 'INFO', subject: 'sync_hubspot', status: 'open' });

    sys.acts.faults.delete('exhaust');
    const replay = await sys.ops.replayDeadLetter(letter!.id);
    const replayed = await sys.ops.jobResult(replay.workflowId);
    expect(replayed.outcome).toBe('succeeded');
    const after = await getDeadLetter(sys.store.db, letter!.id);
    expect(after).toMatchObject({ status: 'resolved', last_replay_workflow_id: replay.workflowId });
    // The job succeeded (its replay): its dead_letter incident is resolved, saying so.
    const resolved = (await listIncidents(sys.store.db, { limit: 1000 })).find((i) => i.id === incident!.id);
    expect(resolved).toMatchObject({ status: 'resolved' });
    expect(resolved!.resolved_reason).toMatch(/^sync_hubspot succeeded/);
    // The replay ran with the same input.
    expect(sys.acts.calls.filter((c) => c.workflowId === replay.workflowId).map((c) => c.arg)).toEqual(['exhaust']);
  });
});
