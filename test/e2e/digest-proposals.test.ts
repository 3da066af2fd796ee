/**
 * The digest and the morning call report the real proposals and corrections: rows made through the
 * store's own functions (offer, decide, apply, a memory correction), inside and outside the
 * messages' windows, read by the real jobs on the dev server and by the previews, on SQLite and
 * PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decideProposal,
  getNotification,
  listProposals,
  markProposalApplied,
  offerProposal,
  supersedeMemoryItems,
  type NewProposal,
} from '../../src/store';
import { OPERATOR_CHAT, OPERATOR_PHONE, startCommsFakes, type CommsFakes } from '../helpers/comms';
import { opsctlFor } from '../helpers/opsctl';
import { startSystem, type TestSystem } from '../helpers/system';

const HOUR = 3600_000;
const LIMITS = { perHour: 100, coolDownMs: 168 * HOUR, expiresAfterMs: 72 * HOUR };

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`the digest and the morning call count real proposals and corrections on ${dialect}`, () => {
    let fakes: CommsFakes;
    let sys: TestSystem;
    beforeAll(async () => {
      fakes = await startCommsFakes();
      sys = await startSystem({ dialect, config: fakes.config({ comms: { digest: { retryDelayMs: 1000 }, morningCall: { retryDelayMs: 1000 } } }) });
      const who = { actor: 'test', reason: 'operator' };
      await sys.ops.allowlistAdd({ kind: 'phone', address: OPERATOR_PHONE, ...who });
      await sys.ops.allowlistAdd({ kind: 'telegram', address: OPERATOR_CHAT, ...who });
    });
    afterAll(async () => {
      await sys?.close();
      await fakes?.close();
    });

    const ago = (hours: number) => new Date(Date.now() - hours * HOUR);
    let n = 0;
    async function offer(hoursAgo: number, title: string, limits = LIMITS): Promise<number> {
      const proposal: NewProposal = {
        kind: 'flaky_job',
        subject: `job-${++n}`,
        title,
        rationale: 'failed often',
        evidence: [{ table: 'agent_audit_log', id: n }],
        confidence: 0.8,
        action: { kind: 'record_only', note: 'look at it' },
        now: ago(hoursAgo),
      };
      const made = await offerProposal(sys.store.db, proposal, limits);
      if (!made.created) throw new Error(`offer ${title} refused: ${made.why}`);
      return made.id;
    }
    const decide = (id: number, verdict: 'approve' | 'reject', hoursAgo: number) =>
      decideProposal(sys.store.db, id, verdict, { actor: 'jonah', reason: 'test', now: ago(hoursAgo) });

    beforeAll(async () => {
      const db = sys.store.db;
      // Waiting, but made before the digest's 24 hours: pending, not new.
      await offer(30, 'Old pending proposal');
      // Made past its 72 hours and never decided: expired, whatever its status column says yet.
      await offer(100, 'Expired proposal');
      // New and waiting.
      await offer(1.5, 'Pause the flaky sync');
      await offer(1, 'Change the cadence of the HubSpot sync');
      // New, approved and applied within the window: a correction applied.
      const applied = await offer(3, 'Mute the noisy incident type');
      await decide(applied, 'approve', 2.5);
      await markProposalApplied(db, applied, 'muted for 24 hours', ago(2));
      // New and rejected: counted as new, not waiting.
      await decide(await offer(4, 'Rejected idea'), 'reject', 3.5);
      // Applied before the window: neither new nor a correction of this digest.
      const old = await offer(40, 'Applied long ago');
      await decide(old, 'approve', 39);
      await markProposalApplied(db, old, 'done', ago(30));

      // Memory: one correction in the window, one before it, and a routine supersede (not a correction).
      const item = (key: string, value: string) => ({ key, value, authority: 'canonical' as const, sourceType: 'notion', sourceId: key });
      await supersedeMemoryItems(db, [item('sop:refunds', 'v1'), item('sop:old', 'v1'), item('sop:synced', 'v1')], 'notion_update', ago(50));
      // The operator's path (opsctl memory correct): superseded with the reason `correction`.
      const who = { actor: 'jonah', reason: 'wrong refund window' };
      await sys.ops.correctMemory('sop:refunds', 'corrected', who, ago(1));
      await sys.ops.correctMemory('sop:old', 'corrected', who, ago(30));
      await supersedeMemoryItems(db, [item('sop:synced', 'v2')], 'notion_update', ago(1));
    });

    it('the daily digest says how many proposals are new and wait, and which corrections were applied', async () => {
      const preview = await sys.ops.digestPreview();
      // New in 24 h: the two waiting, the applied and the rejected one. Corrections: one applied
      // proposal and one memory correction.
      expect(preview.metrics).toMatchObject({ new_proposals: 4, corrections_applied: 2 });
      expect(preview.text).toContain('4 new proposals; 3 proposals wait for your approval: opsctl proposals list.');
      expect(preview.text).toContain('2 corrections applied (1 approved proposal and 1 memory correction).');

      const result = await sys.ops.runJob('daily_digest');
      expect(result).toMatchObject({ outcome: 'succeeded', output: { status: 'sent', channel: 'telegram' } });
      const sent = fakes.telegram.sent.at(-1)!.text;
      expect(sent).toContain('4 new proposals; 3 proposals wait for your approval: opsctl proposals list.');
      expect(sent).toContain('2 corrections applied (1 approved proposal and 1 memory correction).');
      expect(sent).not.toContain('not tracked');
      const { day } = result.output as { day: string };
      const meta = JSON.parse((await getNotification(sys.store.db, `daily_digest:${day}`))!.meta!) as Record<string, unknown>;
      expect(meta).toMatchObject({ new_proposals: 4, corrections_applied: 2 });

      const json = (await opsctlFor(sys)('--json', 'digest', 'preview')).json() as { metrics: Record<string, unknown> };
      expect(json.metrics).toMatchObject({ new_proposals: 4, corrections_applied: 2 });
    });

    it('the morning call reads the proposals waiting for approval, newest first, and the night\'s corrections', async () => {
      const { script } = await sys.ops.callPreview();
      expect(script.text).toContain('3 proposals wait for your approval.');
      expect(script.text).toContain('2 corrections applied.');

      const calls = fakes.twilio.calls.length;
      const result = await sys.ops.runJob('morning_call');
      expect(result).toMatchObject({ outcome: 'succeeded', output: { via: 'voice', status: 'sent' } });
      expect(fakes.twilio.calls).toHaveLength(calls + 1);
      const spoken = fakes.twilio.calls.at(-1)!.text;
      expect(spoken).toContain('3 proposals wait for your approval.');
      expect(spoken.indexOf('Awaiting approval: Change the cadence of the HubSpot sync.')).toBeLessThan(
        spoken.indexOf('Awaiting approval: Pause the flaky sync.'),
      );
      expect(spoken).not.toContain('Expired proposal');
      expect(spoken).not.toContain('Rejected idea');
      expect(spoken.split(/\s+/).length).toBeLessThanOrEqual(150);
    });

    it('once the operator decides them all, nothing waits: the call says there is nothing to approve', async () => {
      for (const p of await listProposals(sys.store.db, { status: 'pending' })) {
        if (p.expires_at > new Date().toISOString()) await decide(p.id, 'reject', 0);
      }
      expect((await sys.ops.callPreview()).script.text).toContain('There is nothing to approve.');
      expect((await sys.ops.digestPreview()).text).toContain('4 new proposals; nothing to approve.');
    });
  });
}
