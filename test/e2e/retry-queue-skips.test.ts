/**
 * Replays that end skipped, and a retry queue the controls stop mid-run. A skip that says the
 * work is done resolves its letter; one a control causes waits with backoff and exhausts; the
 * kill switch ends the queue's run as skipped and gives its claimed letters back untouched.
 * One system with a clock the tests move (the backoff is the spec's), nothing sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SKIP_REASONS } from '../../src/definitions';
import { getDeadLetter, insertDeadLetter } from '../../src/store';
import { startSystem, type TestSystem } from '../helpers/system';

const who = { actor: 'test', reason: 'retry queue skips' };

describe('process_retry_queue and skipped replays', () => {
  let sys: TestSystem;
  let offset = 0;
  let n = 0;
  beforeAll(async () => {
    sys = await startSystem({
      now: () => new Date(Date.now() + offset),
      config: { retry: { initialDelayMs: 2000, backoffMultiplier: 2, maxAttempts: 5, maxDelayMs: 60_000 }, limits: { retryQueueMaxAttempts: 3 } },
    });
  });
  afterAll(async () => {
    await sys.close();
  });

  /** A transient dead letter the queue will replay as `workflowType`. */
  function plant(job: string, workflowType: string, input: Record<string, unknown> = {}): Promise<number> {
    return insertDeadLetter(sys.store.db, {
      created_at: new Date(Date.now() + offset).toISOString(),
      job,
      workflow_type: workflowType,
      workflow_id: `planted-${job}-${++n}`,
      input: JSON.stringify(input),
      error: 'timeout',
      category: 'transient',
      attempts: 5,
    });
  }

  it("a digest already sent today resolves its letter with that reason, instead of going back to the queue", async () => {
    // No provider is configured: the digest goes to the console, and the day's digest is settled.
    const sent = await sys.ops.runJob('daily_digest');
    expect(sent).toMatchObject({ outcome: 'succeeded', output: { channel: 'console' } });
    const id = await plant('daily_digest', 'daily_digest');

    const result = await sys.ops.runJob('process_retry_queue');
    expect(result).toMatchObject({ outcome: 'succeeded', output: { claimed: 1, skipped: 1, failed: 0 } });
    const letter = await getDeadLetter(sys.store.db, id);
    expect(letter).toMatchObject({ status: 'resolved', replay_attempts: 0, next_attempt_at: null });
    expect(letter!.last_replay_error).toMatch(/^Resolved without a run: Today's digest \(\d{4}-\d{2}-\d{2}\) was already sent/);
    expect(letter!.resolved_at).not.toBeNull();

    // Nothing loops: a later run, however much later, finds nothing to replay.
    offset += 60_000;
    expect((await sys.ops.runJob('process_retry_queue')).output).toMatchObject({ claimed: 0 });
  });

  it('a replay a control stops (comms off) waits with backoff, counts as an attempt, and exhausts like a failure', async () => {
    await sys.ops.changeControls({ commsEnabled: false, ...who });
    try {
      const id = await plant('daily_digest', 'daily_digest');
      for (let attempt = 1; attempt <= 3; attempt++) {
        const result = await sys.ops.runJob('process_retry_queue');
        expect(result.output).toMatchObject({ claimed: 1, skipped: 1 });
        const letter = await getDeadLetter(sys.store.db, id);
        expect(letter).toMatchObject({ replay_attempts: attempt, last_replay_error: `Skipped: ${SKIP_REASONS.commsDisabled}` });
        if (attempt === 3) break;
        expect(letter!.status).toBe('open');
        const wait = Date.parse(letter!.next_attempt_at!) - Date.parse(letter!.last_replayed_at!);
        expect(wait).toBe(2000 * 2 ** (attempt - 1));
        // Not due again within the backoff: the 30 s loop is gone.
        expect((await sys.ops.runJob('process_retry_queue')).output).toMatchObject({ claimed: 0 });
        offset += wait;
      }
      expect(await getDeadLetter(sys.store.db, id)).toMatchObject({ status: 'exhausted', replay_attempts: 3, next_attempt_at: null });
      offset += 3600_000;
      expect((await sys.ops.runJob('process_retry_queue')).output).toMatchObject({ claimed: 0 });
    } finally {
      await sys.ops.changeControls({ commsEnabled: true, ...who });
    }
  });

  it("a person's cancel lets the replay in flight finish, and gives back the letters not started", async () => {
    const [first, second] = [await plant('sync_hubspot', 'gatedJob'), await plant('sync_hubspot', 'gatedJob')];
    const arrived = sys.acts.reachedGate();
    const { workflowId } = await sys.ops.startJob('process_retry_queue');
    await arrived;
    await sys.client.workflow.getHandle(workflowId).cancel();
    sys.acts.openGate();
    const result = await sys.ops.jobResult(workflowId);
    expect(result).toMatchObject({ outcome: 'skipped', reason: 'Cancelled by request' });
    expect(await getDeadLetter(sys.store.db, first)).toMatchObject({ status: 'resolved' });
    expect(await getDeadLetter(sys.store.db, second)).toMatchObject({ status: 'open', replay_attempts: 0, next_attempt_at: null });
    // Replayed by the next run (and nothing left behind for the next test).
    const next = sys.acts.reachedGate();
    const again = await sys.ops.startJob('process_retry_queue');
    await next;
    sys.acts.openGate();
    expect((await sys.ops.jobResult(again.workflowId)).output).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(await getDeadLetter(sys.store.db, second)).toMatchObject({ status: 'resolved' });
  });

  it('a kill switch turned on mid-run ends the run skipped, and leaves every claimed letter as it was', async () => {
    // Each replay blocks at the test gate until the kill switch stops it.
    const ids = [await plant('sync_hubspot', 'gatedJob'), await plant('sync_hubspot', 'gatedJob'), await plant('sync_hubspot', 'gatedJob')];
    const arrived = sys.acts.reachedGate();
    const { workflowId } = await sys.ops.startJob('process_retry_queue');
    await arrived;
    await sys.ops.setKillSwitch(true, who);
    try {
      const result = await sys.ops.jobResult(workflowId);
      expect(result).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.killSwitch });
      for (const id of ids) {
        const letter = await getDeadLetter(sys.store.db, id);
        // Open and due, no attempt counted: the queue picks them up again once the switch is off.
        expect(letter).toMatchObject({ status: 'open', replay_attempts: 0, next_attempt_at: null, last_replay_error: null });
      }
    } finally {
      await sys.ops.setKillSwitch(false, who);
      sys.acts.openGate();
    }
  });
});
