/**
 * The pattern detectors over what the real syncs stored: real workflows on the dev server, the
 * real clients against the fakes (n8n, Telegram, HubSpot), on SQLite and PostgreSQL. The system's
 * clock is injected and moved by hand, so a day of syncs happens in seconds; each detector is seen
 * just under the minimum confidence (config.proposals.minConfidence) and then over it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crmChurn } from '../../src/activities/patterns/crm-churn';
import { failingAutomation } from '../../src/activities/patterns/failing-automation';
import { flakyJob } from '../../src/activities/patterns/flaky-job';
import { parseWindowRowId, rateLimitPressure } from '../../src/activities/patterns/rate-limit-pressure';
import { recurringRequest } from '../../src/activities/patterns/recurring-request';
import { DETECTORS } from '../../src/activities/patterns/table';
import type { Detector, Pattern } from '../../src/activities/patterns/types';
import type { JobName } from '../../src/jobs';
import { HubSpotFake, N8nFake, TelegramFake } from '../fakes';
import { expectEvidenceInStore } from '../helpers/evidence';
import { startSystem, type TestSystem } from '../helpers/system';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2030-03-01T00:00:00.000Z');
const FAST_PAGES = { pageTimeoutMs: 10_000 };

/** The system's clock: frozen between moves, so each sync's requests fall in one second. */
function manualClock() {
  let ms = T0;
  return { now: () => new Date(ms), set: (atMs: number) => void (ms = atMs) };
}

async function detect(sys: TestSystem, detector: Detector, nowMs: number): Promise<Pattern[]> {
  const now = new Date(nowMs);
  const ctx = { db: sys.store.db, config: sys.config, now, since: new Date(nowMs - sys.config.proposals.lookbackHours * HOUR) };
  const first = await detector.detect(ctx);
  expect(await detector.detect(ctx)).toEqual(first);
  for (const p of first) await expectEvidenceInStore(sys.store, p.evidence);
  return first;
}


function confidenceOf(patterns: Pattern[], subject: string): number {
  const found = patterns.filter((p) => p.subject === subject);
  expect(found, `one pattern about ${subject}`).toHaveLength(1);
  return found[0]!.confidence;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`patterns over synced data: n8n failures, the chat log, our own jobs (${dialect})`, () => {
    const n8n = new N8nFake({ rateLimit: false });
    const telegram = new TelegramFake({ rateLimit: false });
    const OPERATOR = 4242;
    const clock = manualClock();
    let sys: TestSystem;
    let minimum: number;

    beforeAll(async () => {
      const [n8nUrl, telegramUrl] = await Promise.all([n8n.start(), telegram.start()]);
      sys = await startSystem({
        dialect,
        now: clock.now,
        config: {
          sources: { ...FAST_PAGES, n8n: { baseUrl: n8nUrl, apiKey: n8n.apiKey } },
          telegram: { botToken: telegram.token, apiBase: telegramUrl, chatId: String(OPERATOR) },
        },
      });
      minimum = sys.config.proposals.minConfidence;
    });
    afterAll(async () => {
      await sys.close();
      await Promise.all([n8n.close(), telegram.close()]);
    });

    const runAt = async (atMs: number, job: JobName) => {
      clock.set(atMs);
      return sys.ops.runJob(job);
    };
    const say = (text: string, sentMs: number) => telegram.sendFromUser({ chatId: OPERATOR, text, date: Math.floor(sentMs / 1000) });

    it('failing_automation: a workflow failing in one sync is under the minimum, failing again in a later sync is over', async () => {
      const iso = (ms: number) => new Date(ms).toISOString();
      n8n.addFailures('wf-billing', 3, iso(T0 - 30 * MIN));
      n8n.addFailures('wf-crm', 3, iso(T0 - 20 * MIN));
      expect((await runAt(T0, 'sync_n8n')).outcome).toBe('succeeded');
      const once = await detect(sys, failingAutomation, T0 + HOUR);
      expect(once.map((p) => p.subject)).toEqual(['wf-billing', 'wf-crm']);
      for (const p of once) expect(p.confidence).toBeLessThan(minimum);

      n8n.addFailures('wf-billing', 3, iso(T0 + 19 * HOUR));
      expect((await runAt(T0 + 20 * HOUR, 'sync_n8n')).outcome).toBe('succeeded');
      const again = await detect(sys, failingAutomation, T0 + 20 * HOUR);
      expect(confidenceOf(again, 'wf-billing')).toBeGreaterThanOrEqual(minimum);
      expect(confidenceOf(again, 'wf-crm')).toBeLessThan(minimum);
      expect(again.find((p) => p.subject === 'wf-billing')!.action).toMatchObject({ kind: 'record_only', note: expect.stringContaining('wf-billing') });
    });

    it('recurring_request: a request sent twice is under the minimum, a third near-same time over (chat synced by periodic_scan)', async () => {
      say('Send me the pipeline report', T0 + 20 * HOUR);
      say('send me the pipeline report!', T0 + 20 * HOUR + 30 * MIN);
      say('Call the accountant', T0 + 20 * HOUR + 40 * MIN);
      say('/status', T0 + 20 * HOUR + 41 * MIN);
      say('/status', T0 + 20 * HOUR + 42 * MIN);
      say('/status', T0 + 20 * HOUR + 43 * MIN);
      await runAt(T0 + 21 * HOUR, 'periodic_scan');
      const twice = await detect(sys, recurringRequest, T0 + 21 * HOUR);
      expect(twice.map((p) => p.subject)).toEqual(['send me the pipeline report']);
      expect(twice[0]!.confidence).toBeLessThan(minimum);

      say('send me the pipeline report please', T0 + 21 * HOUR + 30 * MIN);
      await runAt(T0 + 21 * HOUR + 40 * MIN, 'periodic_scan');
      const thrice = await detect(sys, recurringRequest, T0 + 21 * HOUR + 40 * MIN);
      expect(thrice.map((p) => p.subject)).toEqual(['send me the pipeline report']);
      expect(thrice[0]!.confidence).toBeGreaterThanOrEqual(minimum);
      expect(thrice[0]!.evidence).toHaveLength(3);
    });

    it('flaky_job: sync_n8n failing twice is under the minimum, a third failure over; its runs and dead letters are the evidence', async () => {
      // 40 minutes apart, and from periodic_scan's last sync of n8n: n8n syncs at most every 30 min.
      for (const at of [T0 + 22 * HOUR + 20 * MIN, T0 + 23 * HOUR]) {
        n8n.fail({ status: 401 });
        expect((await runAt(at, 'sync_n8n')).outcome).toBe('failed');
      }
      const twice = await detect(sys, flakyJob, T0 + 23 * HOUR);
      expect(confidenceOf(twice, 'sync_n8n')).toBeLessThan(minimum);

      n8n.fail({ status: 401 });
      expect((await runAt(T0 + 23 * HOUR + 40 * MIN, 'sync_n8n')).outcome).toBe('failed');
      const thrice = await detect(sys, flakyJob, T0 + 23 * HOUR + 40 * MIN);
      expect(confidenceOf(thrice, 'sync_n8n')).toBeGreaterThanOrEqual(minimum);
      const evidence = thrice.find((p) => p.subject === 'sync_n8n')!.evidence;
      expect(evidence.filter((e) => e.table === 'agent_audit_log')).toHaveLength(3);
      expect(evidence.filter((e) => e.table === 'dead_letters')).toHaveLength(3);

      // The whole table over the same store: what detect_patterns keeps (at or over minConfidence).
      const now = new Date(T0 + 23 * HOUR + 40 * MIN);
      const ctx = { db: sys.store.db, config: sys.config, now, since: new Date(now.getTime() - 24 * HOUR) };
      const all = (await Promise.all(DETECTORS.map((d) => d.detect(ctx)))).flat();
      expect(all.filter((p) => p.confidence >= minimum).map((p) => `${p.kind}:${p.subject}`).sort()).toEqual(
        ['failing_automation:wf-billing', 'flaky_job:sync_n8n', 'recurring_request:send me the pipeline report'].sort(),
      );
    });
  });

  describe(`patterns over synced data: HubSpot contacts and request rates (${dialect})`, () => {
    const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(3), rateLimit: false });
    const clock = manualClock();
    let sys: TestSystem;
    let minimum: number;
    let modified = Date.parse('2026-02-01T00:00:00.000Z');

    beforeAll(async () => {
      const hubspotUrl = await hubspot.start();
      sys = await startSystem({
        dialect,
        now: clock.now,
        config: {
          sources: {
            ...FAST_PAGES,
            // 5 requests per 2 s: one sync's pages (5 contacts each) all fall in one frozen second.
            hubspot: { token: hubspot.token, baseUrl: hubspotUrl, pageSize: 5, rateLimit: { requests: 5, perSeconds: 2, shape: 'window' } },
          },
        },
      });
      minimum = sys.config.proposals.minConfidence;
    });
    afterAll(async () => {
      await sys.close();
      await hubspot.close();
    });

    /** Contacts `ids` changed in HubSpot (new ones added), then synced at `atMs`. */
    const changeAndSync = async (ids: number[], atMs: number) => {
      const known = new Set(hubspot.contacts.map((c) => c.id));
      for (const id of ids) {
        modified += 1000;
        const lastModified = new Date(modified).toISOString();
        if (known.has(String(id))) hubspot.touch(String(id), lastModified, { firstname: `Changed${modified}` });
        else hubspot.addContact({ id: String(id), email: `c${id}@example.com`, firstname: `F${id}`, lastname: `L${id}`, lastModified });
      }
      clock.set(atMs);
      const result = await sys.ops.runJob('sync_hubspot');
      expect(result.outcome).toBe('succeeded');
      return result;
    };
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

    it('rate_limit_pressure: a sync of 3 pages in one second (60% of 5 per 2 s) is under the minimum, 4 pages (80%) over', async () => {
      await changeAndSync([], T0);
      await changeAndSync([1, 2], T0 + 2 * HOUR);
      // 12 new contacts (13 read with the newest of the last run): 3 pages in one second.
      await changeAndSync(range(4, 15), T0 + 22 * HOUR);
      const under = await detect(sys, rateLimitPressure, T0 + 22 * HOUR);
      expect(confidenceOf(under, 'hubspot')).toBeLessThan(minimum);

      // 16 changed (16 or 17 read): 4 pages.
      await changeAndSync(range(1, 16), T0 + 23 * HOUR);
      const over = await detect(sys, rateLimitPressure, T0 + 23 * HOUR);
      expect(confidenceOf(over, 'hubspot')).toBeGreaterThanOrEqual(minimum);
      const pattern = over.find((p) => p.subject === 'hubspot')!;
      expect(pattern.action).toEqual({ kind: 'set_cadence', job: 'sync_hubspot', every: '2h' });
      // The evidence is the second those 4 requests were counted in.
      expect(pattern.evidence.map((e) => parseWindowRowId(String(e.id)).atSecond)).toContain(Math.floor((T0 + 23 * HOUR) / 1000));
    });

    it('crm_churn: 5 contact changes in the last hour are under the minimum, 7 over (against a quiet day)', async () => {
      await changeAndSync(range(1, 5), T0 + 24 * HOUR + 10 * MIN);
      const five = await detect(sys, crmChurn, T0 + 24 * HOUR + 20 * MIN);
      expect(five.map((p) => p.subject)).toEqual(['hubspot.contacts']);
      expect(five[0]!.confidence).toBeLessThan(minimum);
      expect(five[0]!.evidence).toHaveLength(5);

      await changeAndSync([6, 7], T0 + 24 * HOUR + 45 * MIN);
      const seven = await detect(sys, crmChurn, T0 + 24 * HOUR + 50 * MIN);
      expect(seven[0]!.confidence).toBeGreaterThanOrEqual(minimum);
      expect(seven[0]!.evidence).toHaveLength(7);
      // Every one of them is a HubSpot contact the sync stored.
      const ids = seven[0]!.evidence.map((e) => Number(e.id));
      const rows = await sys.store.db.selectFrom('memory_items').select('key').where('id', 'in', ids).execute();
      expect(rows.map((r) => r.key).sort()).toEqual(range(1, 7).map((i) => `hubspot.contact.${i}`).sort());
    });
  });
}
