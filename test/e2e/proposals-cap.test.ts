/**
 * The spec's manual test 4, "Test rate limits → Verify proposals capped at 10/hour", end to end:
 * 15 n8n workflows fail again and again (the n8n fake, real syncs), so periodic_scan's detectors
 * find 15 failing_automation candidates. The first scan proposes 10 and counts the 5 over the cap
 * in its output; a scan later in the same hour proposes none; a scan an hour later proposes the
 * other 5. The clock is injected (startSystem's `now`): no waiting for the hour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getNotification, listProposals } from '../../src/store';
import { N8nFake } from '../fakes';
import { startSystem, type TestSystem } from '../helpers/system';

const MIN = 60_000;
const WORKFLOWS = Array.from({ length: 15 }, (_, i) => `wf-${String(i + 1).padStart(2, '0')}`);

interface ScanOutput {
  sources: { source: string; outcome: string }[];
  patterns: { kept: number };
  proposals: { candidates: number; created: number; ids: number[]; alreadyPending: number; overHourlyCap: number; coolingDown: number };
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`manual test 4 on ${dialect}: proposals capped at 10 an hour, the rest proposed the next hour`, () => {
    const n8n = new N8nFake({ rateLimit: false });
    let clock = Date.now();
    const now = () => new Date(clock);
    const iso = (minutesFromClock: number) => new Date(clock + minutesFromClock * MIN).toISOString();
    let sys: TestSystem;

    beforeAll(async () => {
      const url = await n8n.start();
      sys = await startSystem({ dialect, now, config: { sources: { n8n: { baseUrl: url, apiKey: n8n.apiKey } } } });
    });
    afterAll(async () => {
      await sys?.close();
      await n8n.close();
    });

    /** Every workflow fails the threshold's 3 times before `minutesFromClock`. */
    const failAll = (minutesFromClock: number) => {
      for (const wf of WORKFLOWS) n8n.addFailures(wf, 3, iso(minutesFromClock - 5));
    };
    const scan = async (): Promise<ScanOutput> => {
      const result = await sys.ops.runJob('periodic_scan');
      expect(result.outcome).toBe('succeeded');
      return result.output as unknown as ScanOutput;
    };
    const pendingSubjects = async () => (await listProposals(sys.store.db, { status: 'pending' })).map((p) => p.subject).sort();

    it('15 candidates make 10 proposals, the 5 over the cap counted; the same hour adds none; an hour later the other 5', async () => {
      // A first failing sync of each workflow: one occurrence each (confidence 0.5), not yet a candidate.
      failAll(0);
      expect(await sys.ops.runJob('sync_n8n')).toMatchObject({ outcome: 'succeeded' });
      expect(await listProposals(sys.store.db)).toEqual([]);

      // Past n8n's minimum sync interval, each fails again: the scan's own sync makes it twice (0.7).
      clock += 31 * MIN;
      failAll(0);
      const first = await scan();
      expect(first.sources.find((s) => s.source === 'n8n')).toMatchObject({ outcome: 'succeeded' });
      expect(first.proposals).toMatchObject({ candidates: 15, created: 10, overHourlyCap: 5, alreadyPending: 0, coolingDown: 0 });
      expect(first.proposals.ids).toHaveLength(10);
      const made = await listProposals(sys.store.db);
      expect(made).toHaveLength(10);
      expect(made.every((p) => p.kind === 'failing_automation' && p.status === 'pending')).toBe(true);
      // The strongest first, equals by subject: the first ten workflows.
      expect(await pendingSubjects()).toEqual(WORKFLOWS.slice(0, 10));

      // Later the same hour: the 10 are pending, the 5 still over the cap; nothing new.
      clock += 20 * MIN;
      const sameHour = await scan();
      expect(sameHour.proposals).toMatchObject({ candidates: 15, created: 0, alreadyPending: 10, overHourlyCap: 5 });
      expect(await listProposals(sys.store.db)).toHaveLength(10);

      // An hour after the first ten: the other five, and the cap is not hit.
      clock += 41 * MIN;
      const nextHour = await scan();
      expect(nextHour.proposals).toMatchObject({ candidates: 15, created: 5, alreadyPending: 10, overHourlyCap: 0 });
      expect(await pendingSubjects()).toEqual(WORKFLOWS);
      const all = await listProposals(sys.store.db);
      expect(all).toHaveLength(15);
      expect(new Set(all.map((p) => p.subject)).size).toBe(15);

      // They reach the operator: the day's digest (at the same injected clock) counts them all, waiting.
      const digest = await sys.ops.runJob('daily_digest');
      expect(digest).toMatchObject({ outcome: 'succeeded', output: { status: 'sent' } });
      const { day } = digest.output as { day: string };
      expect((await getNotification(sys.store.db, `daily_digest:${day}`))!.body).toContain(
        '15 new proposals wait for your approval: opsctl proposals list.',
      );
    });
  });
}
