import { expect, it } from 'vitest';
import {
  claimDueDeadLetters,
  getDeadLetter,
  insertDeadLetter,
  listDeadLetters,
  markReplayStarted,
  recordReplayOutcome,
  type ClaimOptions,
} from '../../src/store';
import { forEachStore } from './fixtures';

const t0 = new Date('2026-03-01T00:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

forEachStore((store) => {
  const db = () => store().db;
  let seq = 0;
  /** One letter per call, each created a second after the previous one. */
  const letter = (category: string, over: { job?: string; input?: unknown } = {}) => {
    seq += 1;
    return insertDeadLetter(db(), {
      created_at: at(seq * 1000).toISOString(),
      job: over.job ?? 'sync_n8n',
      workflow_id: `wf-${category}-${seq}`,
      input: JSON.stringify(over.input ?? { n: seq }),
      error: 'ECONNRESET',
      category,
      attempts: 5,
    });
  };
  const claim = (category: string, over: Partial<ClaimOptions> = {}) =>
    claimDueDeadLetters(db(), { category, limit: 10, maxAttempts: 5, now: at(3600_000), leaseMs: 60_000, ...over });
  const ids = (rows: { id: number }[]) => rows.map((r) => r.id);

  it('a new letter is open, with the job as its workflow type and its input kept as JSON', async () => {
    const id = await letter('new', { job: 'periodic_scan', input: { trigger: 'schedule', deep: [1, 2] } });
    const row = await getDeadLetter(db(), id);
    expect(row).toMatchObject({ id, status: 'open', replay_attempts: 0, workflow_type: 'periodic_scan', attempts: 5, next_attempt_at: null, archived: 0 });
    expect(JSON.parse(row!.input)).toEqual({ trigger: 'schedule', deep: [1, 2] });
    expect(await getDeadLetter(db(), 999_999)).toBeUndefined();
  });

  it('lists newest first, by status; an unknown status is an error, not an empty list', async () => {
    const a = await letter('listing');
    const b = await letter('listing');
    await markReplayStarted(db(), a, 'wf-manual', at(0));
    const open = ids(await listDeadLetters(db(), { status: 'open' }));
    expect(open).toContain(b);
    expect(open).not.toContain(a);
    expect(ids(await listDeadLetters(db(), { status: 'replaying' }))).toContain(a);
    const all = ids(await listDeadLetters(db()));
    expect(all.indexOf(b)).toBeLessThan(all.indexOf(a));
    await expect(listDeadLetters(db(), { status: 'pending' })).rejects.toThrow(/Unknown dead letter status "pending"/);
  });

  it("a person's replay: replaying without a lease, so the queue leaves it alone; then resolved", async () => {
    const id = await letter('manual');
    expect(await markReplayStarted(db(), id, 'sync_n8n-replay-1', at(10))).toBe(true);
    expect(await getDeadLetter(db(), id)).toMatchObject({
      status: 'replaying',
      last_replay_workflow_id: 'sync_n8n-replay-1',
      last_replayed_at: at(10).toISOString(),
      next_attempt_at: null,
    });
    expect(await claim('manual', { now: at(365 * 86_400_000) })).toEqual([]);

    await recordReplayOutcome(db(), id, { succeeded: false, error: 'still down', now: at(20), countsAsAttempt: false });
    expect(await getDeadLetter(db(), id)).toMatchObject({ status: 'open', replay_attempts: 0, last_replay_error: 'still down' });

    await markReplayStarted(db(), id, 'sync_n8n-replay-2', at(30));
    await recordReplayOutcome(db(), id, { succeeded: true, now: at(40), countsAsAttempt: false });
    expect(await getDeadLetter(db(), id)).toMatchObject({ status: 'resolved', resolved_at: at(40).toISOString(), last_replay_error: null });
    expect(await markReplayStarted(db(), id, 'sync_n8n-replay-3', at(50))).toBe(false);
    expect(await getDeadLetter(db(), id)).toMatchObject({ status: 'resolved', last_replay_workflow_id: 'sync_n8n-replay-2' });
  });

  it('the retry queue: claims due letters oldest first, backs off, gives up after maxAttempts', async () => {
    const [first, second, third] = [await letter('auto'), await letter('auto'), await letter('auto')];
    await letter('other-category');
    const claimed = await claim('auto', { limit: 2, now: at(3600_000) });
    expect(ids(claimed)).toEqual([first, second]);
    expect(claimed[0]).toMatchObject({ status: 'replaying', next_attempt_at: at(3600_000 + 60_000).toISOString() });

    await recordReplayOutcome(db(), first!, { succeeded: false, error: 'again', now: at(3601_000), nextAttemptAt: at(3_700_000), countsAsAttempt: true });
    expect(await getDeadLetter(db(), first!)).toMatchObject({ status: 'open', replay_attempts: 1, next_attempt_at: at(3_700_000).toISOString() });
    await recordReplayOutcome(db(), second!, { succeeded: true, now: at(3601_000), countsAsAttempt: true });
    expect(await getDeadLetter(db(), second!)).toMatchObject({ status: 'resolved', replay_attempts: 1 });
    expect(ids(await claim('auto', { now: at(3_650_000) }))).toEqual([third]);
    expect(ids(await claim('auto', { now: at(3_700_000) }))).toEqual([first]);


    await recordReplayOutcome(db(), first!, { succeeded: false, now: at(3_701_000), exhausted: true, countsAsAttempt: true });
    expect(await getDeadLetter(db(), first!)).toMatchObject({ status: 'exhausted', replay_attempts: 2, next_attempt_at: null });
    expect(ids(await claim('auto', { now: at(400 * 86_400_000) }))).toEqual([third]);
  });

  it('letters at maxAttempts are left for a person even when open and due', async () => {
    const id = await letter('capped');
    await claim('capped');
    await recordReplayOutcome(db(), id, { succeeded: false, now: at(3601_000), nextAttemptAt: at(3602_000), countsAsAttempt: true });
    await claim('capped', { now: at(3602_000) });
    await recordReplayOutcome(db(), id, { succeeded: false, now: at(3603_000), nextAttemptAt: at(3604_000), countsAsAttempt: true });
    expect(await claim('capped', { maxAttempts: 2, now: at(3604_000) })).toEqual([]);
    expect(ids(await claim('capped', { maxAttempts: 3, now: at(3604_000) }))).toEqual([id]);
  });

  it('a claim is a lease: a replay that never reports back makes its letter due again', async () => {
    const id = await letter('lease');
    expect(ids(await claim('lease'))).toEqual([id]);
    expect(await claim('lease', { now: at(3600_000 + 59_000) })).toEqual([]);
    expect(ids(await claim('lease', { now: at(3600_000 + 60_000) }))).toEqual([id]);
  });

  it('a late failure never reopens a letter another replay resolved', async () => {
    const id = await letter('overlap');
    await claim('overlap');
    await recordReplayOutcome(db(), id, { succeeded: true, now: at(3601_000), countsAsAttempt: false });
    await recordReplayOutcome(db(), id, { succeeded: false, error: 'late', now: at(3602_000), nextAttemptAt: at(3603_000), countsAsAttempt: true });
    expect(await getDeadLetter(db(), id)).toMatchObject({ status: 'resolved', replay_attempts: 0, resolved_at: at(3601_000).toISOString() });
  });

  it('concurrent claimers never share a letter', async () => {
    const planted: number[] = [];
    for (let i = 0; i < 30; i++) planted.push(await letter('race'));
    // Warm connections, so that the claimers really overlap instead of queueing behind connects.
    await Promise.all(Array.from({ length: 10 }, () => getDeadLetter(db(), planted[0]!)));
    const batches = await Promise.all(Array.from({ length: 10 }, () => claim('race', { limit: 3 })));
    const claimed = batches.flatMap(ids);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect([...claimed].sort((a, b) => a - b)).toEqual(planted);
    expect(await claim('race')).toEqual([]);
  });
});
