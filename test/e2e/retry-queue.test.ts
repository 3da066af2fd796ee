import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExternalApiError, TransientError, ValidationError } from '../../src/errors';
import { getDeadLetter, insertDeadLetter, listDeadLetters } from '../../src/store';
import { startSystem, startTestJob, type TestSystem } from '../helpers/system';

describe('process_retry_queue', () => {
  let sys: TestSystem;
  let n = 0;
  beforeAll(async () => {
    sys = await startSystem({ config: { limits: { retryQueueMaxAttempts: 3 } } });
  });
  afterAll(async () => {
    await sys.close();
  });

  async function deadLetterFor(fault: string, error: () => Error): Promise<number> {
    sys.acts.faults.set(fault, { times: Number.MAX_SAFE_INTEGER, error });
    const id = await startTestJob(sys, 'faultyJob', `rq-${fault}-${++n}`, { params: { fault } });
    const result = await sys.ops.jobResult(id);
    expect(result.outcome).toBe('failed');
    const letter = (await listDeadLetters(sys.store.db, {})).find((l) => l.workflow_id === id);
    return letter!.id;
  }

  it('re-runs a due transient dead letter and resolves it when the job now succeeds', async () => {
    const id = await deadLetterFor('flaky', () => new TransientError('timeout'));
    sys.acts.faults.delete('flaky');
    const result = await sys.ops.runJob('process_retry_queue');
    expect(result.output).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(await getDeadLetter(sys.store.db, id)).toMatchObject({ status: 'resolved' });
  });

  it('re-runs an external API dead letter too (the spec: retry with backoff), but leaves a failed periodic_scan to its next run', async () => {
    const id = await deadLetterFor('api-500', () => new ExternalApiError('HTTP 502 from the API', 502));
    expect(await getDeadLetter(sys.store.db, id)).toMatchObject({ category: 'external_api', status: 'open' });
    // The spec's periodic_scan: "Do NOT retry (next run will handle it)".
    const scan = await insertDeadLetter(sys.store.db, {
      created_at: new Date().toISOString(),
      job: 'periodic_scan',
      workflow_id: 'planted-scan',
      input: JSON.stringify({}),
      error: '1 of 1 sources failed',
      category: 'external_api',
      attempts: 1,
    });
    sys.acts.faults.delete('api-500');
    const result = await sys.ops.runJob('process_retry_queue');
    expect(result.output).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(await getDeadLetter(sys.store.db, id)).toMatchObject({ status: 'resolved' });
    expect(await getDeadLetter(sys.store.db, scan)).toMatchObject({ status: 'open', replay_attempts: 0, last_replayed_at: null });
  });

  it('leaves other categories for a person', async () => {
    const id = await deadLetterFor('invalid', () => new ValidationError('bad'));
    const result = await sys.ops.runJob('process_retry_queue');
    expect(result.output).toMatchObject({ claimed: 0 });
    expect(await getDeadLetter(sys.store.db, id)).toMatchObject({ status: 'open', replay_attempts: 0 });
  });

  it('backs off between attempts and stops after the attempt limit, leaving the letter for a person', async () => {
    // The spec's backoff (2 s, 4 s, ...) on a clock the test moves, so nothing sleeps.
    let offset = 0;
    const slow = await startSystem({
      now: () => new Date(Date.now() + offset),
      config: { retry: { initialDelayMs: 2000, backoffMultiplier: 2, maxAttempts: 5, maxDelayMs: 60_000 }, limits: { retryQueueMaxAttempts: 3 } },
    });
    try {
      slow.acts.faults.set('down', { times: Number.MAX_SAFE_INTEGER, error: () => new ValidationError('still down') });
      const id = await insertDeadLetter(slow.store.db, {
        created_at: new Date().toISOString(),
        job: 'sync_hubspot',
        workflow_type: 'faultyJob',
        workflow_id: 'planted-down',
        input: JSON.stringify({ params: { fault: 'down' } }),
        error: 'timeout',
        category: 'transient',
        attempts: 5,
      });
      for (let attempt = 1; attempt <= 3; attempt++) {
        const result = await slow.ops.runJob('process_retry_queue');
        expect(result.output).toMatchObject({ claimed: 1, failed: 1 });
        const letter = await getDeadLetter(slow.store.db, id);
        expect(letter!.replay_attempts).toBe(attempt);
        if (attempt === 3) break;
        expect(letter!.status).toBe('open');
        const wait = Date.parse(letter!.next_attempt_at!) - Date.parse(letter!.last_replayed_at!);
        expect(wait).toBe(2000 * 2 ** (attempt - 1));
        // Not due yet: a run now claims nothing.
        const early = await slow.ops.runJob('process_retry_queue');
        expect(early.output).toMatchObject({ claimed: 0 });
        offset += wait;
      }
      expect(await getDeadLetter(slow.store.db, id)).toMatchObject({ status: 'exhausted', replay_attempts: 3 });
      offset += 3600_000;
      const after = await slow.ops.runJob('process_retry_queue');
      expect(after.output).toMatchObject({ claimed: 0 });
    } finally {
      await slow.close();
    }
  });

  it('takes at most 10 letters per run, and the rest at the next run', async () => {
    // Letters whose replays succeed, so that the second run leaves no due letter for the other tests.
    for (let i = 0; i < 12; i++) {
      await insertDeadLetter(sys.store.db, {
        created_at: new Date().toISOString(),
        job: 'sync_hubspot',
        workflow_type: 'faultyJob',
        workflow_id: `planted-${i}`,
        input: JSON.stringify({ params: { fault: 'none' } }),
        error: 'timeout',
        category: 'transient',
        attempts: 5,
      });
    }
    const first = await sys.ops.runJob('process_retry_queue');
    expect(first.output).toMatchObject({ claimed: 10, succeeded: 10 });
    const second = await sys.ops.runJob('process_retry_queue');
    expect(second.output).toMatchObject({ claimed: 2, succeeded: 2 });
  });
});
