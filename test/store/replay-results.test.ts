/**
 * How a replay's end is written back on its dead letter, on SQLite and PostgreSQL: which skips
 * resolve, which wait with backoff and count, which give the letter back untouched; and the
 * retry queue's categories and exclusions in the claim.
 */
import { describe, expect, it } from 'vitest';
import { SKIP_REASONS } from '../../src/definitions';
import { SPEC_RETRY_POLICY } from '../../src/policies';
import { claimDueDeadLetters, getDeadLetter, insertDeadLetter } from '../../src/store';
import { recordReplayResult, releaseDeadLetters, skipVerdict, type ReplayResult } from '../../src/store/dead-letters';
import { forEachStore } from './fixtures';

const t0 = new Date('2026-03-01T00:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

describe('skipVerdict', () => {
  it('resolves a skip that says the work is done or there is nothing to do', () => {
    expect(skipVerdict("Today's digest (2026-03-01) was already sent (sent at 2026-03-01T14:00:00.000Z)")).toBe('resolve');
    expect(skipVerdict("Today's morning call (2026-03-01) was already made (sent at 2026-03-01T12:00:00.000Z)")).toBe('resolve');
    expect(skipVerdict(SKIP_REASONS.notConfigured)).toBe('resolve');
    expect(skipVerdict(SKIP_REASONS.notImplemented)).toBe('resolve');
  });

  it('retries with backoff a skip that may clear, and any skip it does not know', () => {
    for (const reason of [SKIP_REASONS.quietHours, SKIP_REASONS.commsDisabled, SKIP_REASONS.writesDisabled, SKIP_REASONS.jobsDisabled]) {
      expect(skipVerdict(reason)).toBe('retry');
    }
    expect(skipVerdict('Cancelled by request')).toBe('retry');
    expect(skipVerdict(undefined)).toBe('retry');
    // Only the job's own wording resolves: a reason merely mentioning "already sent" does not.
    expect(skipVerdict('the alert was already sent elsewhere')).toBe('retry');
  });

  it('releases a replay the kill switch stopped', () => {
    expect(skipVerdict(SKIP_REASONS.killSwitch)).toBe('release');
  });
});

forEachStore((store) => {
  const db = () => store().db;
  let seq = 0;
  const letter = (category = 'transient', job = 'daily_digest') =>
    insertDeadLetter(db(), {
      created_at: at(++seq * 1000).toISOString(),
      job,
      workflow_id: `wf-replay-${seq}`,
      input: '{}',
      error: 'ECONNRESET',
      category,
      attempts: 5,
    });
  /** Claims every due letter, as the queue does; `ids` must be among them. */
  const claimOne = async (ids: number | number[], now = at(3600_000)) => {
    const rows = await claimDueDeadLetters(db(), { category: ['transient', 'external_api'], limit: 100, maxAttempts: 3, now });
    expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining([ids].flat()));
  };
  const replay = (over: Partial<ReplayResult>): ReplayResult => ({
    outcome: 'skipped',
    automatic: true,
    now: at(3601_000),
    retry: SPEC_RETRY_POLICY,
    maxAttempts: 3,
    workflowId: 'daily_digest-retry',
    ...over,
  });

  it('an already-sent skip resolves the letter, with the reason, and counts no attempt', async () => {
    const id = await letter();
    await claimOne(id);
    await recordReplayResult(db(), id, replay({ reason: "Today's digest (2026-03-01) was already sent (sent at x)" }));
    expect(await getDeadLetter(db(), id)).toMatchObject({
      status: 'resolved',
      replay_attempts: 0,
      next_attempt_at: null,
      resolved_at: at(3601_000).toISOString(),
      last_replay_error: "Resolved without a run: Today's digest (2026-03-01) was already sent (sent at x)",
      last_replay_workflow_id: 'daily_digest-retry',
    });
  });

  it('a quiet-hours skip waits with the spec backoff and exhausts at the attempt limit', async () => {
    const id = await letter();
    let now = 3600_000;
    for (let attempt = 1; attempt <= 3; attempt++) {
      await claimOne(id, at(now));
      await recordReplayResult(db(), id, replay({ reason: SKIP_REASONS.quietHours, now: at(now + 1000) }));
      const row = await getDeadLetter(db(), id);
      expect(row).toMatchObject({ replay_attempts: attempt, last_replay_error: 'Skipped: Quiet hours' });
      if (attempt < 3) {
        expect(row).toMatchObject({ status: 'open', next_attempt_at: at(now + 1000 + 2000 * 2 ** (attempt - 1)).toISOString() });
        now = Date.parse(row!.next_attempt_at!) - t0.getTime();
      } else {
        expect(row).toMatchObject({ status: 'exhausted', next_attempt_at: null });
      }
    }
  });

  it("a person's replay stopped by a control counts no attempt, and waits", async () => {
    const id = await letter();
    await claimOne(id);
    await recordReplayResult(db(), id, replay({ reason: SKIP_REASONS.writesDisabled, automatic: false }));
    expect(await getDeadLetter(db(), id)).toMatchObject({ status: 'open', replay_attempts: 0, next_attempt_at: at(3601_000 + 2000).toISOString() });
  });

  it('a kill-switch skip, and a release, give the letter back due and untouched; never a resolved one', async () => {
    const [stopped, unstarted, done] = [await letter(), await letter(), await letter()];
    await claimOne([stopped, unstarted, done]);
    await recordReplayResult(db(), stopped, replay({ reason: SKIP_REASONS.killSwitch }));
    await recordReplayResult(db(), done, replay({ outcome: 'succeeded' }));
    expect(await releaseDeadLetters(db(), [unstarted, done])).toBe(1);
    for (const id of [stopped, unstarted]) {
      expect(await getDeadLetter(db(), id)).toMatchObject({ status: 'open', replay_attempts: 0, next_attempt_at: null, last_replay_error: null });
    }
    expect(await getDeadLetter(db(), done)).toMatchObject({ status: 'resolved' });
    expect(await releaseDeadLetters(db(), [])).toBe(0);
  });

  it('the claim takes every listed category and leaves excluded jobs alone', async () => {
    const transient = await letter('transient', 'sync_n8n');
    const api = await letter('external_api', 'sync_n8n');
    const scan = await letter('external_api', 'periodic_scan');
    const auth = await letter('auth', 'sync_n8n');
    const rows = await claimDueDeadLetters(db(), {
      category: ['transient', 'external_api'],
      excludeJobs: ['periodic_scan'],
      limit: 100,
      maxAttempts: 3,
      now: at(3600_000),
    });
    const claimed = rows.map((r) => r.id);
    expect(claimed).toEqual(expect.arrayContaining([transient, api]));
    expect(claimed).not.toContain(scan);
    expect(claimed).not.toContain(auth);
  });
});
