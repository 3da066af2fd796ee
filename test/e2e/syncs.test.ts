/**
 * The data syncs end to end: real workflows on the dev server, the real SDK clients against
 * local fakes of each API, the store on SQLite and PostgreSQL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countMemoryItems, getDeadLetter, getNotification, getSourceSync, listAudit, listIncidents, listMemoryItems, listNotifications, listOpenIncidents } from '../../src/store';
import { updateIncidents } from '../../src/activities/resolvers';
import { createLogger } from '../../src/logger';
import { HubSpotFake, N8nFake, NotionFake, SalesmsgFake, TelegramFake } from '../fakes';
import { opsctlFor } from '../helpers/opsctl';
import { FAST_RETRY, startSystem, type TestSystem } from '../helpers/system';

const FAST_PAGES = { pageTimeoutMs: 10_000 };

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`Notion and HubSpot syncs on ${dialect}`, () => {
    const notion = new NotionFake({ pages: tagged(NotionFake.generatePages(250), 2), rateLimit: false });
    const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(350), rateLimit: false });
    let sys: TestSystem;

    beforeAll(async () => {
      const [notionUrl, hubspotUrl] = await Promise.all([notion.start(), hubspot.start()]);
      sys = await startSystem({
        dialect,
        config: {
          sources: {
            ...FAST_PAGES,
            notion: { token: notion.token, baseUrl: notionUrl },
            hubspot: { token: hubspot.token, baseUrl: hubspotUrl, pageSize: 100 },
          },
        },
      });
    });
    afterAll(async () => {
      await sys.close();
      await Promise.all([notion.close(), hubspot.close()]);
    });

    it('sync_notion indexes every tagged page, following the cursor to the end, as canonical items', async () => {
      const result = await sys.ops.runJob('sync_notion');
      // Three pages of live results, then one of the trash.
      expect(result).toMatchObject({ outcome: 'succeeded', output: { source: 'notion', pages: 4, items: 125, more: false } });
      const items = await listMemoryItems(sys.store.db, { sourceType: 'notion' });
      expect(items).toHaveLength(125);
      expect(new Set(items.map((i) => i.authority))).toEqual(new Set(['canonical']));
      expect(items[0]!.key).toMatch(/^notion\.page\./);
      const state = await getSourceSync(sys.store.db, 'notion');
      expect(state).toMatchObject({ status: 'idle', last_sync_success: 1, items_synced: 125, pages_synced: 4, cursor: null });
    });

    it('a changed page supersedes its item: the old row stays, pointing at the new one (canonical_update)', async () => {
      const [first, second] = notion.pages.filter((p) => p.tags.some((t) => ['SOP', 'Canonical', 'Final'].includes(t)));
      notion.editPage(first!.id, { title: 'Refund SOP v2' });
      notion.editPage(second!.id, { tags: ['Final', 'Reviewed'] });
      const result = await sys.ops.runJob('sync_notion');
      expect(result.outcome).toBe('succeeded');

      const current = await listMemoryItems(sys.store.db, { sourceType: 'notion' });
      expect(current).toHaveLength(125);
      const history = await listMemoryItems(sys.store.db, { key: `notion.page.${first!.id}`, includeSuperseded: true });
      expect(history).toHaveLength(2);
      const [old, now] = history;
      expect(old).toMatchObject({ superseded_by: now!.id, superseded_reason: 'canonical_update', version: 1 });
      expect(now).toMatchObject({ superseded_by: null, superseded_at: null, version: 2 });
      expect(JSON.parse(now!.value)).toMatchObject({ title: 'Refund SOP v2' });
      const all = await listMemoryItems(sys.store.db, { sourceType: 'notion', includeSuperseded: true });
      expect(all).toHaveLength(127);
    });

    it('sync_hubspot upserts contacts modified since the last sync; a re-sync never duplicates; only search is called', async () => {
      const first = await sys.ops.runJob('sync_hubspot');
      expect(first).toMatchObject({ outcome: 'succeeded', output: { pages: 4, items: 350 } });
      const items = await listMemoryItems(sys.store.db, { sourceType: 'hubspot' });
      expect(items).toHaveLength(350);
      expect(items.every((i) => i.authority === 'inferred' && i.key === `hubspot.contact.${i.source_id}`)).toBe(true);

      hubspot.touch('7', '2026-06-01T00:00:00.000Z', { email: 'new@example.com' });
      hubspot.touch('8', '2026-06-01T00:00:01.000Z', { firstname: 'Renamed' });
      const requestsBefore = hubspot.requests.length;
      const second = await sys.ops.runJob('sync_hubspot');
      // Only contacts modified since the newest one seen: the two touched ones, and that newest
      // one again (the filter is >=, so a contact modified in the same millisecond is never missed).
      expect(second).toMatchObject({ outcome: 'succeeded', output: { pages: 1, items: 3 } });
      expect(hubspot.requests.length - requestsBefore).toBe(1);
      const after = await listMemoryItems(sys.store.db, { sourceType: 'hubspot' });
      expect(after).toHaveLength(350);
      const seven = after.find((i) => i.key === 'hubspot.contact.7')!;
      expect(seven.version).toBe(2);
      expect(JSON.parse(seven.value)).toMatchObject({ properties: { email: 'new@example.com' } });

      const third = await sys.ops.runJob('sync_hubspot');
      expect(third.output).toMatchObject({ items: 1 }); // the boundary contact (GTE), upserted unchanged
      expect(await listMemoryItems(sys.store.db, { sourceType: 'hubspot' })).toHaveLength(350);
      expect(hubspot.writeRequests()).toEqual([]);
    });
  });
}

describe('sync failures and controls (SQLite)', () => {
  const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(300), rateLimit: false });
  // The operator's SMS provider: an alert that must go out now arrives here.
  const salesmsg = new SalesmsgFake({ rateLimit: false });
  const OPERATOR_PHONE = '+15551230000';
  let sys: TestSystem;

  beforeAll(async () => {
    const [url] = await Promise.all([hubspot.start(), salesmsg.start()]);
    sys = await startSystem({
      config: {
        sources: { ...FAST_PAGES, hubspot: { token: hubspot.token, baseUrl: url, pageSize: 100 } },
        comms: { operatorPhone: OPERATOR_PHONE, salesmsg: { token: salesmsg.token, baseUrl: salesmsg.apiBase }, sendTimeoutMs: 2000 },
      },
    });
    await sys.ops.allowlistAdd({ kind: 'phone', address: OPERATOR_PHONE, actor: 'test', reason: 'the operator' });
  });
  afterEach(() => hubspot.clearFaults());
  afterAll(async () => {
    await sys.close();
    await Promise.all([hubspot.close(), salesmsg.close()]);
  });

  const searches = () => hubspot.requests.filter((r) => r.path.endsWith('/search'));

  it('a 429 waits its Retry-After, a 5xx is retried as transient, and the run completes', async () => {
    hubspot.fail({ status: 429, retryAfterSeconds: 2 }, { status: 503 });
    const before = searches().length;
    const result = await sys.ops.runJob('sync_hubspot');
    expect(result).toMatchObject({ outcome: 'succeeded', output: { pages: 3, items: 300 } });
    const calls = searches().slice(before);
    expect(calls.map((c) => c.status)).toEqual([429, 503, 200, 200, 200]);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(1900);
    expect(await listMemoryItems(sys.store.db, { sourceType: 'hubspot' })).toHaveLength(300);
  });

  it('a malformed page fails the run naming the field, writes nothing of it, and the next run resumes there', async () => {
    for (let i = 1; i <= 300; i++) hubspot.touch(String(i), new Date(Date.UTC(2026, 6, 1, 0, 0, i)).toISOString());
    // Page 1 is fine, page 2 is malformed (validation: no retry).
    hubspot.fail({ delayMs: 0 }, { malformed: true });
    const before = searches().length;
    const failed = await sys.ops.runJob('sync_hubspot');
    expect(failed).toMatchObject({ outcome: 'failed', category: 'validation' });
    expect(failed.error).toMatch(/results\.0\.id/);
    expect(searches().length - before).toBe(2);
    const state = await getSourceSync(sys.store.db, 'hubspot');
    expect(state).toMatchObject({ status: 'idle', last_outcome: 'failed', run_pages: 1, run_items: 100, consecutive_failures: 1 });
    expect(state!.cursor).not.toBeNull();
    const versions = (await listMemoryItems(sys.store.db, { sourceType: 'hubspot' })).map((i) => i.version);
    expect(versions.filter((v) => v === 2)).toHaveLength(100); // page 1 only

    const resumed = await sys.ops.runJob('sync_hubspot');
    expect(resumed).toMatchObject({ outcome: 'succeeded', output: { pages: 3, items: 300 } });
    const after = await listMemoryItems(sys.store.db, { sourceType: 'hubspot' });
    expect(after).toHaveLength(300);
    expect(after.every((i) => i.version === 2)).toBe(true);
    expect(await getSourceSync(sys.store.db, 'hubspot')).toMatchObject({ consecutive_failures: 0, cursor: null });
  });

  it('401: auth, not retried, a WARN incident at once on the source (the spec\'s table); the dead letter keeps the run', async () => {
    hubspot.touch('1', '2026-08-01T00:00:00.000Z');
    hubspot.fail({ status: 401 });
    const before = searches().length;
    const result = await sys.ops.runJob('sync_hubspot');
    expect(result).toMatchObject({ outcome: 'failed', category: 'auth' });
    expect(searches().length - before).toBe(1);
    const incidents = await listIncidents(sys.store.db);
    const auth = incidents.filter((i) => i.type === 'auth_failure');
    // One incident, the source's: the job wrapper sees it reported for this run and adds none.
    expect(auth).toHaveLength(1);
    expect(auth[0]).toMatchObject({ severity: 'WARN', title: 'HubSpot rejected the credentials', job: 'sync_hubspot', subject: 'source:hubspot', status: 'open' });
    // A WARN waits for the digest.
    const note = (await listNotifications(sys.store.db, {})).find((n) => n.idempotency_key === `incident:${auth[0]!.id}`);
    expect(note).toMatchObject({ status: 'held', severity: 'WARN' });
    const letters = await sys.ops.listDeadLetters();
    expect(letters.find((l) => l.workflow_id === result.workflowId)).toMatchObject({ job: 'sync_hubspot', category: 'auth' });
  });

  it('three failed syncs in a row raise one source alert, and the job wrapper does not add a second; a sync that works resolves them', async () => {
    // The 401 above was the first failure in a row.
    for (let i = 0; i < 2; i++) {
      hubspot.touch('1', `2026-08-0${2 + i}T00:00:00.000Z`);
      hubspot.fail({ status: 401 });
      expect((await sys.ops.runJob('sync_hubspot')).outcome).toBe('failed');
    }
    const incidents = (await listIncidents(sys.store.db)).filter((i) => i.job === 'sync_hubspot' && i.status === 'open');
    expect(incidents.filter((i) => i.type === 'source_unreachable')).toHaveLength(1);
    expect(incidents.find((i) => i.type === 'source_unreachable')).toMatchObject({ title: 'HubSpot sync failed 3 times in a row', subject: 'source:hubspot', severity: 'WARN' });
    expect(incidents.filter((i) => i.type === 'consecutive_failures')).toHaveLength(0);
    // The credentials incident is not repeated for every failed run: its recurrences are counted.
    expect(incidents.filter((i) => i.type === 'auth_failure')).toMatchObject([{ occurrences: 3 }]);
    // One open dead_letter incident for the job, every failed run counted on it.
    expect(incidents.filter((i) => i.type === 'dead_letter')).toMatchObject([{ subject: 'sync_hubspot', occurrences: 3 }]);
    expect(salesmsg.sent.filter((m) => m.message.includes('HubSpot rejected the credentials'))).toHaveLength(0);

    // The token works again: the next sync resolves the source's incidents and the job's.
    expect((await sys.ops.runJob('sync_hubspot')).outcome).toBe('succeeded');
    const after = (await listIncidents(sys.store.db)).filter((i) => incidents.some((o) => o.id === i.id));
    expect(after.map((i) => i.status)).toEqual(after.map(() => 'resolved'));
    expect(after.find((i) => i.type === 'source_unreachable')!.resolved_reason).toMatch(/^hubspot synced/);
    expect(after.find((i) => i.type === 'dead_letter')!.resolved_reason).toMatch(/^sync_hubspot succeeded/);
  });

  it('write_enabled off: the job is skipped with that reason and nothing is fetched or written', async () => {
    await sys.ops.changeControls({ writeEnabled: false, actor: 'test', reason: 'maintenance' });
    try {
      const before = searches().length;
      const result = await sys.ops.runJob('sync_hubspot');
      expect(result).toMatchObject({ outcome: 'skipped', reason: 'Writes are disabled' });
      expect(searches().length).toBe(before);
    } finally {
      await sys.ops.changeControls({ writeEnabled: true, actor: 'test', reason: 'done' });
    }
  });

  it('the kill switch stops a sync between pages; the lock is released and the cursor kept for the next run', async () => {
    for (let i = 1; i <= 300; i++) hubspot.touch(String(i), new Date(Date.UTC(2026, 9, 1, 0, 0, i)).toISOString());
    hubspot.fail({ delayMs: 1500 }, { delayMs: 1500 }, { delayMs: 1500 });
    const { workflowId } = await sys.ops.startJob('sync_hubspot');
    // This run's first page committed (run_pages of a run that completed before stays as it was).
    const firstPageIn = async () => {
      const row = (await getSourceSync(sys.store.db, 'hubspot'))!;
      return row.status === 'running' && row.lease_holder === workflowId && row.run_pages >= 1;
    };
    await expect.poll(firstPageIn, { timeout: 20_000, interval: 100 }).toBe(true);
    await sys.ops.changeControls({ killSwitch: true, actor: 'test', reason: 'stop everything' });
    try {
      const result = await sys.ops.jobResult(workflowId);
      expect(result).toMatchObject({ outcome: 'skipped', reason: 'Kill switch is active' });
      const state = await getSourceSync(sys.store.db, 'hubspot');
      expect(state).toMatchObject({ status: 'idle', last_outcome: 'skipped' });
      expect(state!.cursor).not.toBeNull();
      expect(state!.run_pages).toBeLessThan(3);
    } finally {
      await sys.ops.changeControls({ killSwitch: false, actor: 'test', reason: 'resume' });
    }
    const resumed = await sys.ops.runJob('sync_hubspot');
    expect(resumed).toMatchObject({ outcome: 'succeeded', output: { pages: 3, items: 300 } });
    expect(await listMemoryItems(sys.store.db, { sourceType: 'hubspot' })).toHaveLength(300);
  });

  it('a source with no token: the job ends skipped, reason "not configured"', async () => {
    const result = await sys.ops.runJob('sync_notion');
    expect(result).toMatchObject({ outcome: 'skipped', reason: 'not configured' });
  });

  it('opsctl run sync_hubspot --wait shows pages and items as they go, then the counts; status shows every source', async () => {
    for (let i = 1; i <= 300; i++) hubspot.touch(String(i), new Date(Date.UTC(2026, 10, 1, 0, 0, i)).toISOString());
    hubspot.fail(...Array.from({ length: 3 }, () => ({ delayMs: 1200 })));
    const opsctl = opsctlFor(sys, { HUBSPOT_TOKEN: hubspot.token, HUBSPOT_BASE_URL: hubspot.url });
    const run = await opsctl('run', 'sync_hubspot', '--wait');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/syncing hubspot pages=\d items=\d+/);
    expect(JSON.parse(run.stdout)).toMatchObject({ outcome: 'succeeded', output: { pages: 3, items: 300 } });

    const status = await opsctl('status', '--json');
    const sources = status.json().sources as { source: string; configured: boolean; missing?: string }[];
    expect(sources.find((s) => s.source === 'hubspot')).toMatchObject({ configured: true, lastOutcome: 'succeeded', items: 300, cursor: null });
    expect(sources.find((s) => s.source === 'notion')).toMatchObject({ configured: false, missing: 'NOTION_TOKEN', lastSyncAt: null });
    const table = (await opsctl('status')).stdout;
    expect(table).toMatch(/hubspot\s+yes\s+\S+ ago\s+succeeded\s+300\s+at the end/);
    expect(table).toMatch(/notion\s+no \(set NOTION_TOKEN\)\s+never/);
  });
});

describe('HubSpot past the search cap of 10,000 results (SQLite)', () => {
  const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(10_120), rateLimit: false });
  let sys: TestSystem;

  beforeAll(async () => {
    const url = await hubspot.start();
    sys = await startSystem({ config: { sources: { ...FAST_PAGES, hubspot: { token: hubspot.token, baseUrl: url, pageSize: 200 } } } });
  });
  afterAll(async () => {
    await sys.close();
    await hubspot.close();
  });

  it('every page queries afresh from the last timestamp reached, so every contact arrives once', async () => {
    const result = await sys.ops.runJob('sync_hubspot');
    // Each page starts from the newest timestamp read (no offset), so the cap is never reached.
    expect(result).toMatchObject({ outcome: 'succeeded', output: { pages: 51, items: 10_120 } });
    expect(hubspot.requests).toHaveLength(51);
    expect(hubspot.requests.every((r) => (r.body as { after?: string }).after === undefined)).toBe(true);
    expect(await countMemoryItems(sys.store.db, 'hubspot')).toEqual({ current: 10_120, all: 10_120 });
  });
});

describe('n8n, chat logs and periodic_scan (SQLite)', () => {
  const n8n = new N8nFake({ rateLimit: false });
  const telegram = new TelegramFake({ rateLimit: false });
  const notion = new NotionFake({ pages: tagged(NotionFake.generatePages(30), 3), rateLimit: false });
  const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(20), rateLimit: false });
  const OPERATOR = 4242;
  let sys: TestSystem;

  beforeAll(async () => {
    const [n8nUrl, telegramUrl, notionUrl, hubspotUrl] = await Promise.all([n8n.start(), telegram.start(), notion.start(), hubspot.start()]);
    sys = await startSystem({
      config: {
        sources: {
          ...FAST_PAGES,
          // These tests sync n8n back to back: its minimum interval is tested on its own below.
          n8n: { baseUrl: n8nUrl, apiKey: n8n.apiKey, pageSize: 2, minSyncIntervalMinutes: 0 },
          notion: { token: notion.token, baseUrl: notionUrl },
          hubspot: { token: hubspot.token, baseUrl: hubspotUrl },
        },
        telegram: { botToken: telegram.token, apiBase: telegramUrl, chatId: String(OPERATOR) },
      },
    });
  });
  afterAll(async () => {
    await sys.close();
    await Promise.all([n8n.close(), telegram.close(), notion.close(), hubspot.close()]);
  });

  const recent = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

  it('sync_n8n: 3+ failures of one workflow open one incident for it; later failures count on it; a clean sync lets the resolver close it', async () => {
    const type = 'n8n_workflow_failures';
    n8n.addFailures('wf-billing', 3, recent(30));
    n8n.addFailures('wf-crm', 2, recent(20));
    const first = await sys.ops.runJob('sync_n8n');
    expect(first).toMatchObject({ outcome: 'succeeded', output: { items: 5, pages: 3 } });
    const incidents = (await listIncidents(sys.store.db)).filter((i) => i.type === type);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ severity: 'WARN', title: 'Workflow wf-billing failed 3 times', subject: 'wf-billing', job: 'sync_n8n', occurrences: 1 });

    // Only executions since the last sync count; a workflow still failing counts on its incident,
    // one under the threshold (wf-crm) opens none.
    n8n.addFailures('wf-billing', 1, recent(5));
    n8n.addFailures('wf-crm', 1, recent(5));
    const second = await sys.ops.runJob('sync_n8n');
    expect(second.output).toMatchObject({ items: 2 });
    const open = (await listIncidents(sys.store.db)).filter((i) => i.type === type);
    expect(open).toMatchObject([{ subject: 'wf-billing', occurrences: 2, status: 'open', title: 'Workflow wf-billing failed 1 times' }]);

    // A sync that finds wf-billing clean, then the update step: resolved, with the reason.
    expect((await sys.ops.runJob('sync_n8n')).outcome).toBe('succeeded');
    const updated = await updateIncidents({ config: sys.config, store: sys.store, client: sys.client, logger: createLogger('silent'), now: () => new Date() }, new Date());
    expect(updated.resolved.filter((r) => r.type === type)).toEqual([
      { id: open[0]!.id, type, subject: 'wf-billing', reason: expect.stringMatching(/^n8n synced at .* with no failure of workflow wf-billing$/) },
    ]);
  });

  it('periodic_scan syncs all four sources in parallel; chat keeps only the operator\'s messages, offset persisted', async () => {
    telegram.sendFromUser({ chatId: OPERATOR, text: 'remember: invoices go out on the 1st' });
    telegram.sendFromUser({ chatId: 999, text: 'spam from a stranger' });
    telegram.sendFromUser({ chatId: OPERATOR, text: 'call the accountant tomorrow' });
    const result = await sys.ops.runJob('periodic_scan');
    expect(result.outcome).toBe('succeeded');
    const sources = (result.output as { sources: { source: string; outcome: string; items?: number }[] }).sources;
    expect(Object.fromEntries(sources.map((s) => [s.source, [s.outcome, s.items]]))).toEqual({
      notion: ['succeeded', 10],
      n8n: ['succeeded', 0],
      hubspot: ['succeeded', 20],
      chat: ['succeeded', 2],
    });
    const chat = await listMemoryItems(sys.store.db, { sourceType: 'chat' });
    expect(chat.map((c) => JSON.parse(c.value).text as string).sort()).toEqual(['call the accountant tomorrow', 'remember: invoices go out on the 1st']);
    expect(chat.every((c) => c.authority === 'inferred')).toBe(true);
    // The next read confirms what was stored: Telegram drops it, nothing is stored twice.
    const again = await sys.ops.runJob('periodic_scan');
    expect(again.outcome).toBe('succeeded');
    expect(telegram.pending()).toBe(0);
    expect(await listMemoryItems(sys.store.db, { sourceType: 'chat' })).toHaveLength(2);
  });

  it('periodic_scan with 3 of 4 sources failing ends failed, naming each; the one that worked keeps what it synced', async () => {
    const failuresBefore = await Promise.all((['notion', 'n8n', 'chat'] as const).map(async (s) => (await getSourceSync(sys.store.db, s))?.consecutive_failures ?? 0));
    const email = `scan-${Date.now()}@example.com`;
    hubspot.touch('3', new Date().toISOString(), { email });
    notion.fail(...Array.from({ length: FAST_RETRY.maxAttempts }, () => ({ status: 500 }))); // transient, every attempt
    n8n.fail({ status: 401 });
    telegram.fail({ status: 403, path: 'getUpdates' });
    try {
      const result = await sys.ops.runJob('periodic_scan');
      expect(result).toMatchObject({ outcome: 'failed', category: 'external_api' });
      expect(result.error).toMatch(/^3 of 4 sources failed: /);
      expect(result.error).toContain('notion (transient): Notion answered HTTP 500');
      expect(result.error).toContain('n8n (auth): n8n answered HTTP 401');
      expect(result.error).toContain('chat (auth): Telegram getUpdates answered HTTP 403');
      expect(result.error).not.toContain('hubspot');

      // The output still lists every source's result, the synced one included.
      const sources = (result.output as { sources: { source: string; outcome: string; category?: string }[] }).sources;
      expect(Object.fromEntries(sources.map((s) => [s.source, [s.outcome, s.category]]))).toEqual({
        notion: ['failed', 'transient'],
        n8n: ['failed', 'auth'],
        hubspot: ['succeeded', undefined],
        chat: ['failed', 'auth'],
      });
      const contact = (await listMemoryItems(sys.store.db, { key: 'hubspot.contact.3' }))[0];
      expect(JSON.parse(contact!.value)).toMatchObject({ properties: { email } });
      expect(await getSourceSync(sys.store.db, 'hubspot')).toMatchObject({ last_outcome: 'succeeded', last_sync_success: 1 });
      const failuresAfter = await Promise.all((['notion', 'n8n', 'chat'] as const).map(async (s) => (await getSourceSync(sys.store.db, s))!));
      expect(failuresAfter.map((row) => row.last_outcome)).toEqual(['failed', 'failed', 'failed']);
      expect(failuresAfter.map((row) => row.consecutive_failures)).toEqual(failuresBefore.map((n) => n + 1));

      // The wrapper records it as a failure: audit row with the output, a dead letter the retry
      // queue leaves alone (the spec: the next scan is the retry), and its alert.
      const audit = (await listAudit(sys.store.db, { job: 'periodic_scan' })).find((a) => a.workflow_id === result.workflowId);
      expect(audit).toMatchObject({ outcome: 'failed', success: 0, error: result.error });
      expect(JSON.parse(audit!.output_data!)).toMatchObject({ sources: expect.any(Array) });
      const letter = (await sys.ops.listDeadLetters()).find((l) => l.workflow_id === result.workflowId);
      expect(letter).toMatchObject({ job: 'periodic_scan', category: 'external_api', error: result.error });
      const incidents = await listIncidents(sys.store.db);
      expect(incidents.find((i) => i.type === 'dead_letter' && i.related_workflow_id === result.workflowId)).toBeDefined();
      // Each auth failure is its source's, recorded under the job that ran the sync (chat has no
      // job of its own); the scan adds no second credentials incident of its own.
      const auth = incidents.filter((i) => i.type === 'auth_failure' && i.related_workflow_id === result.workflowId);
      expect(auth.map((i) => [i.subject, i.job]).sort()).toEqual([
        ['source:chat', 'periodic_scan'],
        ['source:n8n', 'periodic_scan'],
      ]);
      expect(incidents.filter((i) => i.job === 'sync_chat' || i.subject === 'sync_chat')).toEqual([]);
      // Step 5 ran and named what it looked at.
      expect(result.output).toMatchObject({ incidents: { checked: expect.any(Number), failed: [] } });
    } finally {
      for (const fake of [notion, n8n, telegram]) fake.clearFaults();
    }
  });
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`n8n at most once per 30 minutes, and a failed scan is not replayed (${dialect})`, () => {
    const n8n = new N8nFake({ rateLimit: false });
    const MIN = 60_000;
    let clock = Date.parse('2026-11-22T15:00:00.000Z');
    const now = () => new Date(clock);
    let sys: TestSystem;

    beforeAll(async () => {
      const url = await n8n.start();
      // n8n keeps the spec's default minimum interval (30 min); only n8n is configured.
      sys = await startSystem({ dialect, now, config: { sources: { ...FAST_PAGES, n8n: { baseUrl: url, apiKey: n8n.apiKey } } } });
    });
    afterAll(async () => {
      await sys?.close();
      await n8n.close();
    });

    const n8nOf = (output: unknown) => (output as { sources: { source: string; outcome: string; reason?: string }[] }).sources.find((s) => s.source === 'n8n');

    it('whichever job comes second within 30 min skips n8n with the reason; past it, n8n syncs again', async () => {
      expect(await sys.ops.runJob('sync_n8n')).toMatchObject({ outcome: 'succeeded' });
      const requests = n8n.requests.length;
      clock += 12 * MIN;
      const scan = await sys.ops.runJob('periodic_scan');
      expect(scan.outcome).toBe('succeeded');
      expect(n8nOf(scan.output)).toEqual({
        source: 'n8n',
        outcome: 'skipped',
        reason: `n8n synced 12 min ago (at ${new Date(clock - 12 * MIN).toISOString()}); at most one sync per 30 min`,
      });
      expect(n8n.requests.length).toBe(requests);
      clock += 19 * MIN;
      const synced = await sys.ops.runJob('periodic_scan');
      expect(n8nOf(synced.output)).toMatchObject({ outcome: 'succeeded' });
      // Now the scan came first: sync_n8n is the second, and ends skipped saying why.
      clock += 5 * MIN;
      const second = await sys.ops.runJob('sync_n8n');
      expect(second).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/^n8n synced 5 min ago .*at most one sync per 30 min$/) });
    });

    it('"Do NOT retry": a scan failing 3 times in a row is recorded and alerted, and the retry queue replays none of its runs', async () => {
      const failed: string[] = [];
      for (let i = 0; i < 3; i++) {
        clock += 31 * MIN;
        // Transient on every attempt (the page is retried inside the run, which is fine), so the run fails.
        n8n.fail(...Array.from({ length: FAST_RETRY.maxAttempts }, () => ({ status: 500 })));
        const result = await sys.ops.runJob('periodic_scan');
        expect(result).toMatchObject({ outcome: 'failed', category: 'external_api' });
        failed.push(result.workflowId);
      }
      n8n.clearFaults();
      const letters = (await sys.ops.listDeadLetters()).filter((l) => l.job === 'periodic_scan' && failed.includes(l.workflow_id));
      expect(letters).toHaveLength(3);
      const [streak] = await listOpenIncidents(sys.store.db, { type: 'source_unreachable', subject: 'source:n8n' });
      expect(streak).toMatchObject({ severity: 'WARN', job: 'periodic_scan', title: 'n8n sync failed 3 times in a row' });
      expect(await getNotification(sys.store.db, `incident:${streak!.id}`)).toMatchObject({ severity: 'WARN' });
      // Long past any backoff: the letters would be due if the queue took periodic_scan's.
      clock += 24 * 60 * MIN;
      const queue = await sys.ops.runJob('process_retry_queue');
      expect(queue.output).toMatchObject({ claimed: 0 });
      for (const letter of letters) expect(await getDeadLetter(sys.store.db, letter.id)).toMatchObject({ status: 'open', replay_attempts: 0, last_replayed_at: null });
    });
  });
}

function tagged(pages: ReturnType<typeof NotionFake.generatePages>, every: number) {
  const tags = ['SOP', 'Canonical', 'Final', 'Draft'];
  return pages.map((p, i) => ({ ...p, tags: (i + 1) % every === 0 ? [tags[i % 3]!] : i % 5 === 0 ? ['Draft'] : [] }));
}
