/**
 * periodic_scan's steps 3 and 4 through the real workflow, worker and store, on SQLite and
 * PostgreSQL: detect_patterns runs every detector of the table it is given (one that throws is
 * named, the others still count), keeps patterns at or over minConfidence; generate_proposals
 * offers those at or over proposeAtConfidence through the store's limits, counts what the cap
 * refused (proposed by a later scan), and routes each new proposal as INFO for the digest. The
 * detectors here read rows the test writes to the audit log (the real detectors are tested with
 * the syncs' data elsewhere); the activities' clock is injected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifier } from '../../src/activities/notify';
import { createProposalActivities } from '../../src/activities/proposals';
import type { Detector, Pattern } from '../../src/activities/patterns/types';
import { createLogger } from '../../src/logger';
import { insertAudit, listNotifications, listProposals } from '../../src/store';
import { N8nFake } from '../fakes';
import { startSystem, type TestSystem } from '../helpers/system';

const MIN = 60_000;
const who = { actor: 'test', reason: 'scan-proposals test' };

/** One pattern per `scan-signal` audit row in the window: its subject and confidence in input_data. */
const signals: Detector = {
  kind: 'test_signal',
  describe: 'the confidence written on the row',
  async detect({ db, since, now }) {
    const rows = await db
      .selectFrom('agent_audit_log')
      .select(['id', 'input_data'])
      .where('action', '=', 'scan-signal')
      .where('ts', '>', since.toISOString())
      .where('ts', '<=', now.toISOString())
      .orderBy('id')
      .execute();
    return rows.map((row): Pattern => {
      const { subject, confidence } = JSON.parse(row.input_data ?? '{}') as { subject: string; confidence: number };
      return {
        kind: 'test_signal',
        subject,
        confidence,
        evidence: [{ table: 'agent_audit_log', id: row.id }],
        summary: `signal ${subject}`,
        title: `Look at ${subject}`,
        action: { kind: 'record_only', note: `look at ${subject}` },
      };
    });
  },
};
const broken: Detector = {
  kind: 'broken',
  describe: 'always fails',
  detect: () => Promise.reject(new Error('detector blew up')),
};

interface ScanOutput {
  sources: { source: string; outcome: string; reason?: string }[];
  patterns: { kept: number; belowMinConfidence: number; detectors: { kind: string; found: number; kept: number; error?: string }[] };
  proposals: Record<string, unknown>;
  incidents: unknown;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`periodic_scan detect_patterns and generate_proposals on ${dialect}`, () => {
    const n8n = new N8nFake({ rateLimit: false });
    let clock = Date.parse('2026-11-20T10:00:00.000Z');
    const now = () => new Date(clock);
    let sys: TestSystem;
    let detections = 0;
    const counted: Detector = { kind: 'counted', describe: 'counts its runs', detect: async () => (detections++, []) };

    beforeAll(async () => {
      const url = await n8n.start();
      sys = await startSystem({
        dialect,
        now,
        startWorker: false,
        // n8n keeps its default minimum interval (30 min): scans closer than that skip it.
        config: { sources: { n8n: { baseUrl: url, apiKey: n8n.apiKey } }, proposals: { perHour: 3 } },
      });
      const deps = { config: sys.config, store: sys.store, client: sys.client, logger: createLogger('silent'), now };
      // The worker registers extra activities after its own: these take the test's detector table.
      Object.assign(sys.acts.activities, createProposalActivities(deps, createNotifier(deps), [signals, broken, counted]));
      await sys.startWorker();
      await sys.ops.ensureControls();
    });
    afterAll(async () => {
      await sys?.close();
      await n8n.close();
    });

    const signal = (subject: string, confidence: number, minutesAgo = 5) =>
      insertAudit(sys.store.db, {
        ts: new Date(clock - minutesAgo * MIN).toISOString(),
        action: 'scan-signal',
        action_type: 'system',
        success: 1,
        outcome: null,
        error: null,
        duration_ms: null,
        input_data: JSON.stringify({ subject, confidence }),
        output_data: null,
        workflow_id: null,
        actor: 'test',
        reason: 'test',
      });
    const scan = async (): Promise<{ outcome: string; reason?: string; output: ScanOutput }> => {
      const result = await sys.ops.runJob('periodic_scan');
      return { outcome: result.outcome, reason: result.reason, output: result.output as unknown as ScanOutput };
    };

    it('keeps patterns over minConfidence, proposes those over proposeAtConfidence, names a failing detector, routes each proposal as INFO', async () => {
      await signal('weak', 0.5);
      await signal('middling', 0.65);
      await signal('strong-a', 0.9);
      await signal('strong-b', 0.7);
      // Outside the 24 h lookback: not seen.
      await signal('old', 0.99, 25 * 60);
      const { outcome, output } = await scan();
      expect(outcome).toBe('succeeded');
      expect(output).not.toHaveProperty('laterSteps');
      expect(output.patterns).toMatchObject({ kept: 3, belowMinConfidence: 1 });
      expect(output.patterns.detectors).toEqual([
        { kind: 'test_signal', found: 4, kept: 3 },
        { kind: 'broken', found: 0, kept: 0, error: 'detector blew up' },
        { kind: 'counted', found: 0, kept: 0 },
      ]);
      expect(output.proposals).toMatchObject({ candidates: 2, created: 2, belowProposeAt: 1, alreadyPending: 0, overHourlyCap: 0, coolingDown: 0, expired: 0 });
      const made = await listProposals(sys.store.db);
      expect(made.map((p) => [p.subject, p.status, p.confidence]).sort()).toEqual([
        ['strong-a', 'pending', 0.9],
        ['strong-b', 'pending', 0.7],
      ]);
      expect((output.proposals.ids as number[]).sort()).toEqual(made.map((p) => p.id).sort());
      expect(JSON.parse(made.find((p) => p.subject === 'strong-a')!.evidence)).toEqual([{ table: 'agent_audit_log', id: expect.any(Number) }]);
      const notes = await listNotifications(sys.store.db, { type: 'proposal' });
      expect(notes.map((n) => n.idempotency_key).sort()).toEqual(made.map((p) => `proposal:${p.id}`).sort());
      expect(notes.every((n) => n.severity === 'INFO' && n.route === 'digest')).toBe(true);
    });

    it('a second scan proposes nothing twice; candidates over the hourly cap are counted, then proposed by a scan an hour later', async () => {
      clock += 10 * MIN;
      for (const s of ['c1', 'c2', 'c3']) await signal(s, 0.8);
      const capped = await scan();
      // n8n synced 10 min ago: skipped with the reason, not a failure.
      expect(capped.outcome).toBe('succeeded');
      expect(capped.output.sources.find((s) => s.source === 'n8n')).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/^n8n synced 10 min ago .*at most one sync per 30 min$/) });
      // 2 made in the first test this hour, the cap is 3: one more, two refused and counted.
      expect(capped.output.proposals).toMatchObject({ candidates: 5, created: 1, alreadyPending: 2, overHourlyCap: 2 });
      expect(await listProposals(sys.store.db)).toHaveLength(3);
      // The patterns persist (their rows are still in the lookback window).
      clock += 61 * MIN;
      const later = await scan();
      expect(later.output.sources.find((s) => s.source === 'n8n')).toMatchObject({ outcome: 'succeeded' });
      expect(later.output.proposals).toMatchObject({ candidates: 5, created: 2, alreadyPending: 3, overHourlyCap: 0 });
      expect((await listProposals(sys.store.db)).map((p) => p.subject).sort()).toEqual(['c1', 'c2', 'c3', 'strong-a', 'strong-b']);
      // Each routed once.
      expect(await listNotifications(sys.store.db, { type: 'proposal' })).toHaveLength(5);
    });

    it('writes off: detection still runs (it writes nothing), generate_proposals is skipped and says why', async () => {
      clock += 5 * MIN;
      await signal('while-writes-off', 0.95);
      // n8n is not paged (that would need writes): the last scan synced it 5 min ago, its minimum interval holds it.
      await sys.ops.changeControls({ writeEnabled: false, ...who });
      try {
        const before = detections;
        const { outcome, output } = await scan();
        expect(outcome).toBe('succeeded');
        expect(detections).toBe(before + 1);
        expect(output.sources.find((s) => s.source === 'n8n')).toMatchObject({ outcome: 'skipped', reason: expect.stringContaining('at most one sync per 30 min') });
        expect(output.proposals).toEqual({ skipped: 'Writes are disabled' });
        expect((await listProposals(sys.store.db)).map((p) => p.subject)).not.toContain('while-writes-off');
      } finally {
        await sys.ops.changeControls({ writeEnabled: true, ...who });
      }
    });

    it('the kill switch stops the scan before detection: nothing detected, nothing proposed', async () => {
      await signal('under-kill', 0.95);
      await sys.ops.setKillSwitch(true, who);
      try {
        const before = detections;
        const { outcome, reason } = await scan();
        expect(outcome).toBe('skipped');
        expect(reason).toBe('Kill switch is active');
        expect(detections).toBe(before);
      } finally {
        await sys.ops.setKillSwitch(false, who);
      }
      expect((await listProposals(sys.store.db)).map((p) => p.subject)).not.toContain('under-kill');
    });
  });
}
