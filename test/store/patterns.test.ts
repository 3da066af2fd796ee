/**
 * The pattern detectors of detect_patterns on both databases: each just below and just above the
 * confidence it needs (config.proposals.minConfidence, 0.6), run twice for the same answer, with
 * every evidence ref pointing at a real row. Rows are written by the store's own writers (the ones
 * the syncs and the job framework call), each test at its own `now`, years apart, since the suite
 * shares one store. test/e2e/patterns.test.ts runs the detectors over what real syncs stored.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { crmChurn } from '../../src/activities/patterns/crm-churn';
import { failingAutomation } from '../../src/activities/patterns/failing-automation';
import { flakyJob } from '../../src/activities/patterns/flaky-job';
import { rateLimitPressure } from '../../src/activities/patterns/rate-limit-pressure';
import { groupMessages, normaliseMessage, recurringRequest } from '../../src/activities/patterns/recurring-request';
import { DETECTORS } from '../../src/activities/patterns/table';
import type { Detector, Pattern } from '../../src/activities/patterns/types';
import { N8N_WORKFLOW_FAILURES } from '../../src/activities/sources/n8n';
import { configSchema, type Config } from '../../src/config';
import { proposalActionSchema } from '../../src/proposal-actions';
import { countApiCall, insertAudit, insertDeadLetter, reportIncident, upsertMemoryItems, type Store } from '../../src/store';
import { expectEvidenceInStore } from '../helpers/evidence';
import { forEachStore } from './fixtures';

const MIN = 60_000;
const HOUR = 60 * MIN;
const dataDir = mkdtempSync(join(tmpdir(), 'ops-patterns-'));
const configWith = (overrides: Record<string, unknown> = {}): Config => configSchema.parse({ dataDir, ...overrides });
const config = configWith();
const MIN_CONFIDENCE = config.proposals.minConfidence;

async function detect(detector: Detector, store: Store, now: Date, cfg = config): Promise<Pattern[]> {
  const since = new Date(now.getTime() - cfg.proposals.lookbackHours * HOUR);
  const ctx = { db: store.db, config: cfg, now, since };
  const first = await detector.detect(ctx);
  // Deterministic: the same store and clock give the same patterns, in the same order.
  expect(await detector.detect(ctx)).toEqual(first);
  expect(first.map((p) => p.subject)).toEqual([...first.map((p) => p.subject)].sort());
  for (const p of first) {
    expect(p.kind).toBe(detector.kind);
    expect(p.confidence).toBeGreaterThanOrEqual(0);
    expect(p.confidence).toBeLessThanOrEqual(1);
    expect(proposalActionSchema.safeParse(p.action).success).toBe(true);
    expect(p.evidence.length).toBeGreaterThan(0);
    await expectEvidenceInStore(store, p.evidence);
  }
  return first;
}


const only = (patterns: Pattern[], subject: string): Pattern => {
  const found = patterns.filter((p) => p.subject === subject);
  expect(found, `one pattern about ${subject}`).toHaveLength(1);
  return found[0]!;
};

const at = (base: string, plusMs = 0) => new Date(Date.parse(base) + plusMs);

it('the table has every detector once, each saying how it computes confidence', () => {
  expect(DETECTORS.map((d) => d.kind)).toEqual(['failing_automation', 'flaky_job', 'rate_limit_pressure', 'recurring_request', 'crm_churn']);
  for (const d of DETECTORS) expect(d.describe).toMatch(/\d/);
});

it('recurring requests: normalised text, near-same by token Jaccard, grouped the same whatever the order', () => {
  expect(normaliseMessage('  Send me the   INVOICE report!! ')).toBe('send me the invoice report');
  const messages = [
    { id: 1, text: 'Send me the weekly invoice report please', sentAt: '' },
    { id: 2, text: 'send me the weekly invoice report, please!', sentAt: '' },
    // 7 of 8 tokens shared: Jaccard 0.875, near-same.
    { id: 3, text: 'send me the weekly invoice report please now', sentAt: '' },
    // 5 of 8: not.
    { id: 4, text: 'send me the monthly sales report please', sentAt: '' },
    { id: 5, text: '/status', sentAt: '' },
    { id: 6, text: 'ok', sentAt: '' },
  ];
  const groups = groupMessages(messages).map((g) => [g.text, g.messages.map((m) => m.id)]);
  expect(groups).toEqual([
    ['send me the weekly invoice report please', [1, 2, 3]],
    ['send me the monthly sales report please', [4]],
  ]);
  expect(groupMessages([...messages].reverse()).map((g) => [g.text, g.messages.map((m) => m.id)])).toEqual(groups);
});

forEachStore((store) => {
  it('failing_automation: one failing n8n sync is under the minimum, a second one of the same workflow is over', async () => {
    const base = '2030-01-01T00:00:00.000Z';
    const report = (workflow: string, n: number, plus: number) =>
      reportIncident(store().db, {
        type: N8N_WORKFLOW_FAILURES,
        subject: workflow,
        severity: 'WARN',
        title: `Workflow ${workflow} failed ${n} times`,
        body: 'n8n',
        job: 'sync_n8n',
        now: at(base, plus),
      });
    const once = await report('wf-once', 3, 1 * HOUR);
    const first = await report('wf-again', 4, 2 * HOUR);
    const second = await report('wf-again', 3, 3 * HOUR);
    expect(second.id).toBe(first.id);
    // Long before the lookback: not counted.
    await report('wf-old', 9, -72 * HOUR);

    const patterns = await detect(failingAutomation, store(), at(base, 4 * HOUR));
    expect(patterns.map((p) => p.subject)).toEqual(['wf-again', 'wf-once']);
    const below = only(patterns, 'wf-once');
    expect(below.confidence).toBe(0.5);
    expect(below.confidence).toBeLessThan(MIN_CONFIDENCE);
    expect(below.evidence).toEqual([{ table: 'incidents', id: once.id }]);
    const above = only(patterns, 'wf-again');
    expect(above.confidence).toBe(0.7);
    expect(above.confidence).toBeGreaterThanOrEqual(MIN_CONFIDENCE);
    expect(above.evidence).toEqual([{ table: 'incidents', id: first.id }]);
    expect(above.action).toEqual({ kind: 'record_only', note: expect.stringContaining('fix n8n workflow wf-again') });
    expect(above.summary).toContain('2 syncs');
  });

  it('flaky_job: 2 failed runs of 2 are under the minimum; a retry on top, or the same share over more failures, is over', async () => {
    const base = '2031-01-01T00:00:00.000Z';
    const now = at(base, 10 * HOUR);
    const run = async (job: string, outcome: 'failed' | 'succeeded' | 'skipped', plus: number, attempts?: number, category = 'transient') => {
      const ts = at(base, plus).toISOString();
      await insertAudit(store().db, {
        ts,
        action: job,
        action_type: 'system',
        success: outcome === 'succeeded' ? 1 : 0,
        outcome,
        error: outcome === 'failed' ? 'HTTP 503' : null,
        duration_ms: 100,
        input_data: '{}',
        output_data: null,
        workflow_id: `${job}-${plus}`,
        actor: 'schedule',
        reason: null,
        run_id: null,
      });
      if (outcome === 'failed') {
        await insertDeadLetter(store().db, { created_at: ts, job, workflow_type: job, workflow_id: `${job}-${plus}`, input: '{}', error: 'HTTP 503', category, attempts: attempts ?? 1 });
      }
    };
    // sync_notion: 2 of 2 failed, no retry: share 1 × weight 2/4 = 0.5.
    await run('sync_notion', 'failed', 1 * HOUR);
    await run('sync_notion', 'failed', 2 * HOUR);
    await run('sync_notion', 'skipped', 3 * HOUR);
    // sync_hubspot: the same, with one retry: weight 2.5/4 = 0.625.
    await run('sync_hubspot', 'failed', 1 * HOUR);
    await run('sync_hubspot', 'failed', 2 * HOUR, 2);
    // cleanup_old_data: 4 of 14 failed: share 8/14 = 0.571, under; sync_n8n: 4 of 13, 8/13 = 0.615, over.
    for (let i = 0; i < 14; i++) await run('cleanup_old_data', i < 4 ? 'failed' : 'succeeded', i * MIN, 1, 'database');
    for (let i = 0; i < 13; i++) await run('sync_n8n', i < 4 ? 'failed' : 'succeeded', i * MIN);
    // Outside the lookback: not counted.
    await run('daily_digest', 'failed', -30 * HOUR);

    const patterns = await detect(flakyJob, store(), now);
    expect(patterns.map((p) => [p.subject, p.confidence])).toEqual([
      ['cleanup_old_data', 0.571],
      ['sync_hubspot', 0.625],
      ['sync_n8n', 0.615],
      ['sync_notion', 0.5],
    ]);
    for (const p of patterns) expect(p.confidence >= MIN_CONFIDENCE).toBe(['sync_hubspot', 'sync_n8n'].includes(p.subject));
    const hubspot = only(patterns, 'sync_hubspot');
    expect(hubspot.evidence.filter((e) => e.table === 'agent_audit_log')).toHaveLength(2);
    expect(hubspot.evidence.filter((e) => e.table === 'dead_letters')).toHaveLength(2);
    // Transient failures: run it less often (twice its 60m); database failures need a person.
    expect(hubspot.action).toEqual({ kind: 'set_cadence', job: 'sync_hubspot', every: '2h' });
    expect(only(patterns, 'cleanup_old_data').action.kind).toBe('record_only');
  });

  it('rate_limit_pressure: the busiest bucket at 78% of the limit is under the minimum, at 82% (or one 429) over', async () => {
    // Limits of 50 requests per 10 s (a window): 39 requests in one 10 s bucket is 78%, 41 is 82%.
    const cfg = configWith({
      sources: {
        notion: { rateLimit: { requests: 50, perSeconds: 10, shape: 'window' } },
        hubspot: { rateLimit: { requests: 50, perSeconds: 10, shape: 'window' } },
        n8n: { rateLimit: { requests: 50, perSeconds: 10, shape: 'window' } },
      },
    });
    const bucketStart = Date.parse('2032-01-01T00:00:00.000Z');
    const calls = async (service: string, n: number, atMs: number, throttled = false) => {
      for (let i = 0; i < n; i++) await countApiCall(store().db, service, new Date(atMs + (i % 10) * 1000), { throttled });
    };
    await calls('notion', 39, bucketStart);
    await calls('hubspot', 41, bucketStart + HOUR);
    await calls('n8n', 5, bucketStart + 2 * HOUR);
    await calls('n8n', 1, bucketStart + 3 * HOUR, true);
    const patterns = await detect(rateLimitPressure, store(), new Date(bucketStart + 4 * HOUR), cfg);
    expect(patterns.map((p) => [p.subject, p.confidence])).toEqual([
      ['hubspot', 0.64],
      ['n8n', 0.25],
      ['notion', 0.56],
    ]);
    const hubspot = only(patterns, 'hubspot');
    expect(hubspot.confidence).toBeGreaterThanOrEqual(MIN_CONFIDENCE);
    expect(only(patterns, 'notion').confidence).toBeLessThan(MIN_CONFIDENCE);
    expect(hubspot.evidence).toHaveLength(10);
    expect(hubspot.action).toEqual({ kind: 'set_cadence', job: 'sync_hubspot', every: '2h' });
    // One 429 more on n8n: 0.5 for two.
    await calls('n8n', 1, bucketStart + 3 * HOUR + 5000, true);
    expect(only(await detect(rateLimitPressure, store(), new Date(bucketStart + 4 * HOUR), cfg), 'n8n').confidence).toBe(0.5);
  });

  it('recurring_request: a message sent twice is under the minimum, three near-same times over; commands and old messages are left out', async () => {
    const base = '2033-01-01T00:00:00.000Z';
    const now = at(base, 10 * HOUR);
    let messageId = 0;
    const send = async (text: string, sentPlus: number) => {
      messageId += 1;
      const sentAt = at(base, sentPlus).toISOString();
      await upsertMemoryItems(
        store().db,
        [{ key: `chat.telegram.42.${messageId}`, value: { chatId: 42, messageId, sentAt, text, edited: false }, authority: 'inferred', sourceType: 'chat', sourceId: String(messageId) }],
        at(base, sentPlus + MIN),
      );
    };
    await send('What is on my calendar today?', 1 * HOUR);
    await send('what is on my calendar today', 2 * HOUR);
    await send('Remind me to pay the rent', 1 * HOUR);
    await send('remind me to pay the rent!', 3 * HOUR);
    await send('/status', 1 * HOUR);
    await send('/status', 2 * HOUR);
    await send('/status', 3 * HOUR);
    // Sent before the lookback: not counted.
    await send('remind me to pay the rent', -30 * HOUR);

    const below = await detect(recurringRequest, store(), now);
    expect(below.map((p) => [p.subject, p.confidence])).toEqual([
      ['remind me to pay the rent', 0.5],
      ['what is on my calendar today', 0.5],
    ]);
    await send('what is on my calendar for today?', 4 * HOUR);
    const above = await detect(recurringRequest, store(), now);
    const calendar = only(above, 'what is on my calendar today');
    expect(calendar.confidence).toBe(0.7);
    expect(calendar.confidence).toBeGreaterThanOrEqual(MIN_CONFIDENCE);
    expect(calendar.evidence).toHaveLength(3);
    expect(calendar.action.kind).toBe('record_only');
    expect(only(above, 'remind me to pay the rent').confidence).toBeLessThan(MIN_CONFIDENCE);
  });

  it('crm_churn: under 4× the usual rate is under the minimum, over it is over; no baseline before a full lookback of history', async () => {
    const base = '2034-01-01T00:00:00.000Z';
    let contact = 0;
    const change = async (n: number, plus: number) => {
      const items = Array.from({ length: n }, () => {
        contact += 1;
        return { key: `hubspot.contact.${contact}`, value: { id: String(contact), email: `c${contact}@example.com` }, authority: 'inferred' as const, sourceType: 'hubspot', sourceId: String(contact) };
      });
      await upsertMemoryItems(store().db, items, at(base, plus));
    };
    // The first sync, before the lookback; then 69 changes over the 23 h baseline (3 an hour).
    await change(5, 0);
    for (let h = 0; h < 23; h++) await change(3, (2 + h) * HOUR);
    const now = at(base, 26 * HOUR);
    // The last hour: 11 changes is 3.67× (0.533), 13 is 4.33× (0.667).
    await change(11, 25 * HOUR + 10 * MIN);
    const below = await detect(crmChurn, store(), now);
    expect(below.map((p) => [p.subject, p.confidence])).toEqual([['hubspot.contacts', 0.533]]);
    await change(2, 25 * HOUR + 20 * MIN);
    const above = await detect(crmChurn, store(), now);
    expect(above.map((p) => [p.subject, p.confidence])).toEqual([['hubspot.contacts', 0.667]]);
    expect(above[0]!.confidence).toBeGreaterThanOrEqual(MIN_CONFIDENCE);
    expect(above[0]!.evidence).toHaveLength(13);
    // Seen from a lookback that starts before the first sync: no baseline, no pattern.
    expect(await detect(crmChurn, store(), at(base, 23 * HOUR))).toEqual([]);
  });
});
