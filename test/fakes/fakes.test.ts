import { afterEach, describe, expect, it } from 'vitest';
import { type HttpFake, HubSpotFake, N8nFake, NotionFake, TelegramFake, isRecord } from './index';

const started: HttpFake[] = [];

async function start<T extends HttpFake>(fake: T): Promise<T> {
  started.push(fake);
  await fake.start();
  return fake;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((f) => f.close()));
});

async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const json: unknown = await res.json();
  if (!isRecord(json)) throw new Error(`expected a JSON object, got ${JSON.stringify(json)}`);
  return { status: res.status, headers: res.headers, json };
}

function list(json: Record<string, unknown>, key: string): Record<string, unknown>[] {
  const value = json[key];
  if (!Array.isArray(value)) throw new Error(`${key} is not a list`);
  return value.filter(isRecord);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('NotionFake', () => {
  const headers = { authorization: 'Bearer secret_notion_test', 'notion-version': '2025-09-03' };
  const search = (fake: NotionFake, body: unknown, h: Record<string, string> = headers) => call(`${fake.url}/v1/search`, { body, headers: h });

  it('pages through every page, newest first, with the documented shape', async () => {
    const fake = await start(new NotionFake({ pages: NotionFake.generatePages(25, { tagEvery: 5 }), rateLimit: false }));
    const ids: string[] = [];
    let cursor: unknown = undefined;
    for (;;) {
      const { status, json } = await search(fake, { filter: { property: 'object', value: 'page' }, start_cursor: cursor, page_size: 10 });
      expect(status).toBe(200);
      expect(json).toMatchObject({ object: 'list', type: 'page_or_data_source' });
      ids.push(...list(json, 'results').map((p) => String(p.id)));
      if (json.has_more !== true) break;
      cursor = json.next_cursor;
    }
    expect(ids).toHaveLength(25);
    expect(new Set(ids).size).toBe(25);
    expect(ids[0]).toBe('00000000-0000-4000-8000-000000000019');
    const first = list((await search(fake, { page_size: 1 })).json, 'results')[0];
    expect(first).toMatchObject({ object: 'page', properties: { Name: { type: 'title' }, Tags: { type: 'multi_select', multi_select: [{ name: 'ops' }] } } });
  });

  it('moves an edited page to the front and honours tagsProperty', async () => {
    const fake = await start(new NotionFake({ pages: NotionFake.generatePages(3), tagsProperty: 'Labels', rateLimit: false }));
    fake.editPage('00000000-0000-4000-8000-000000000001', { tags: ['urgent'] });
    const [first] = list((await search(fake, {})).json, 'results');
    expect(first).toMatchObject({ id: '00000000-0000-4000-8000-000000000001', properties: { Labels: { multi_select: [{ name: 'urgent' }] } } });
  });

  it('rejects a bad token, a missing version, a bad page_size, an unknown cursor and invalid JSON', async () => {
    const fake = await start(new NotionFake({ pages: NotionFake.generatePages(2), rateLimit: false }));
    expect((await search(fake, {}, { ...headers, authorization: 'Bearer nope' })).json).toMatchObject({ object: 'error', status: 401, code: 'unauthorized' });
    expect((await search(fake, {}, { authorization: headers.authorization })).json).toMatchObject({ status: 400, code: 'missing_version' });
    expect((await search(fake, { page_size: 101 })).json).toMatchObject({ status: 400, code: 'validation_error' });
    expect((await search(fake, { start_cursor: 'nope' })).json).toMatchObject({ status: 400, code: 'validation_error' });
    expect((await search(fake, '{not json')).status).toBe(400);
    expect(fake.requests).toHaveLength(5);
  });

  it('replays injected 429, 5xx and malformed faults', async () => {
    const fake = await start(new NotionFake({ pages: NotionFake.generatePages(2) }));
    fake.fail({ status: 429, retryAfterSeconds: 2 }, { status: 503 }, { malformed: true });
    const limited = await search(fake, {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.json).toMatchObject({ object: 'error', code: 'rate_limited' });
    expect((await search(fake, {})).json).toMatchObject({ status: 503, code: 'service_unavailable' });
    const broken = list((await search(fake, {})).json, 'results');
    expect(broken[0]).not.toHaveProperty('id');
    expect(broken[1]).toHaveProperty('id');
    expect(fake.injected429).toBe(1);
    expect(fake.rateLimited).toBe(0);
  });

  it('enforces 3 requests per second with a burst of 3', async () => {
    const fake = await start(new NotionFake({ pages: NotionFake.generatePages(1) }));
    const results = await Promise.all(Array.from({ length: 6 }, () => search(fake, {})));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    const limited = results.filter((r) => r.status === 429);
    expect(limited).toHaveLength(3);
    expect(Number(limited[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(fake.rateLimited).toBe(3);
    await sleep(400);
    expect((await search(fake, {})).status).toBe(200);
  });
});

describe('HubSpotFake', () => {
  const headers = { authorization: 'Bearer pat-test-hubspot' };
  const search = (fake: HubSpotFake, body: unknown, h = headers) => call(`${fake.url}/crm/v3/objects/contacts/search`, { body, headers: h });

  it('pages a lastmodifieddate filter to the end and omits paging on the last page', async () => {
    const fake = await start(new HubSpotFake({ contacts: HubSpotFake.generateContacts(30), rateLimit: false }));
    const since = String(Date.parse('2026-01-01T00:00:10.000Z'));
    const ids: string[] = [];
    let after: string | undefined;
    for (;;) {
      const { json } = await search(fake, {
        filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: since }] }],
        sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
        properties: ['email'],
        limit: 7,
        after,
      });
      expect(json.total).toBe(21);
      ids.push(...list(json, 'results').map((r) => String(r.id)));
      const paging = json.paging;
      if (paging === undefined) break;
      after = isRecord(paging) && isRecord(paging.next) ? String(paging.next.after) : undefined;
    }
    expect(ids).toEqual(Array.from({ length: 21 }, (_, i) => String(i + 10)));
    const [first] = list((await search(fake, { properties: ['email'], limit: 1 })).json, 'results');
    expect(first?.properties).toEqual({ createdate: '2026-01-01T00:00:00.000Z', email: 'contact1@example.com', hs_object_id: '1', lastmodifieddate: '2026-01-01T00:00:01.000Z' });
  });

  it('stops at the 10 000-result search window', async () => {
    const fake = await start(new HubSpotFake({ contacts: HubSpotFake.generateContacts(10_050), rateLimit: false }));
    const near = await search(fake, { limit: 200, after: '9800' });
    expect(list(near.json, 'results')).toHaveLength(200);
    expect(near.json.paging).toBeUndefined();
    expect((await search(fake, { limit: 10, after: '10000' })).json).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
  });

  it('rejects bad auth and records write attempts with 405', async () => {
    const fake = await start(new HubSpotFake({ contacts: HubSpotFake.generateContacts(1), rateLimit: false }));
    const denied = await search(fake, {}, { authorization: 'Bearer wrong' });
    expect(denied.status).toBe(401);
    expect(denied.json).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
    const write = await call(`${fake.url}/crm/v3/objects/contacts/1`, { method: 'PATCH', body: { properties: { firstname: 'x' } }, headers });
    expect(write.status).toBe(405);
    expect(fake.writeRequests().map((r) => `${r.method} ${r.path}`)).toEqual(['PATCH /crm/v3/objects/contacts/1']);
  });

  it('replays injected 429, 5xx and malformed faults', async () => {
    const fake = await start(new HubSpotFake({ contacts: HubSpotFake.generateContacts(3) }));
    fake.fail({ status: 429, retryAfterSeconds: 1 }, { status: 500 }, { malformed: true });
    const limited = await search(fake, {});
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.json).toMatchObject({ errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' });
    expect((await search(fake, {})).json).toMatchObject({ category: 'INTERNAL_ERROR' });
    expect(list((await search(fake, {})).json, 'results')[0]).not.toHaveProperty('id');
    expect(fake.injected429).toBe(1);
  });

  it('enforces a sliding window and reports the remaining budget', async () => {
    const fake = await start(new HubSpotFake({ contacts: HubSpotFake.generateContacts(1), rateLimit: { requests: 3, windowMs: 300 } }));
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) remaining.push((await search(fake, {})).headers.get('x-hubspot-ratelimit-remaining'));
    expect(remaining).toEqual(['2', '1', '0']);
    const limited = await search(fake, {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(fake.rateLimited).toBe(1);
    await sleep(320);
    expect((await search(fake, {})).status).toBe(200);
  });
});

describe('HubSpotFake: search index lag and the search endpoints\' own limit', () => {
  const headers = { authorization: 'Bearer pat-test-hubspot' };
  const ids = async (fake: HubSpotFake) =>
    list((await call(`${fake.url}/crm/v3/objects/contacts/search`, { body: { limit: 100 }, headers })).json, 'results').map((r) => [
      String(r.id),
      String(isRecord(r.properties) ? r.properties.email : ''),
    ]);

  it('shows a write only once the index has caught up, and until then the version before it', async () => {
    let now = 1_000_000;
    const fake = await start(new HubSpotFake({ rateLimit: false, indexLagMs: 2_000, clock: () => now }));
    const seed = { id: '1', email: 'old@example.com', firstname: 'A', lastname: 'B', lastModified: '2026-01-01T00:00:01.000Z' };
    fake.addContact(seed);
    fake.addContact({ ...seed, id: '2', email: 'two@example.com' }, { indexLagMs: 0 });
    expect(await ids(fake)).toEqual([['2', 'two@example.com']]);
    now += 2_000;
    expect(await ids(fake)).toEqual([['1', 'old@example.com'], ['2', 'two@example.com']]);
    fake.touch('1', '2026-01-01T00:00:05.000Z', { email: 'new@example.com' });
    expect(fake.pendingIndex()).toBe(1);
    expect(await ids(fake)).toEqual([['1', 'old@example.com'], ['2', 'two@example.com']]);
    now += 2_000;
    expect(await ids(fake)).toEqual([['1', 'new@example.com'], ['2', 'two@example.com']]);
    expect(fake.pendingIndex()).toBe(0);
  });

  it('answers 429 (policy SECONDLY) past the search limit, within the general one', async () => {
    const fake = await start(new HubSpotFake({ contacts: HubSpotFake.generateContacts(3), searchRateLimit: { requests: 5, windowMs: 1_000 } }));
    const results = await Promise.all(
      Array.from({ length: 7 }, () => call(`${fake.url}/crm/v3/objects/contacts/search`, { body: { limit: 1 }, headers })),
    );
    const limited = results.filter((r) => r.status === 429);
    expect(limited).toHaveLength(2);
    expect(limited[0]?.json).toMatchObject({ errorType: 'RATE_LIMIT', policyName: 'SECONDLY' });
    expect(limited[0]?.headers.get('retry-after')).toBe('1');
    expect(fake).toMatchObject({ rateLimited: 2, searchRateLimited: 2 });
  });
});

describe('N8nFake', () => {
  const headers = { 'x-n8n-api-key': 'n8n-test-key' };
  const executions = (fake: N8nFake, query: string, h = headers) => call(`${fake.url}/api/v1/executions${query}`, { headers: h });

  it('pages failed executions newest first to the end', async () => {
    const fake = await start(new N8nFake({ rateLimit: false }));
    fake.addFailures('wf-1', 12);
    fake.addExecution({ id: 100, workflowId: 'wf-1', status: 'success', startedAt: '2026-01-02T00:00:00.000Z', stoppedAt: '2026-01-02T00:00:01.000Z' });
    const ids: string[] = [];
    let cursor: unknown = null;
    do {
      const query = `?status=error&workflowId=wf-1&limit=5${typeof cursor === 'string' ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const { status, json } = await executions(fake, query);
      expect(status).toBe(200);
      ids.push(...list(json, 'data').map((e) => String(e.id)));
      cursor = json.nextCursor;
    } while (cursor !== null);
    expect(ids).toEqual(Array.from({ length: 12 }, (_, i) => String(12 - i)));
    const [first] = list((await executions(fake, '?limit=1')).json, 'data');
    expect(first).toMatchObject({ id: '100', finished: true, mode: 'trigger', status: 'success', workflowId: 'wf-1', waitTill: null });
  });

  it('rejects a missing key, a limit above 250 and a bad cursor', async () => {
    const fake = await start(new N8nFake({ rateLimit: false }));
    expect(await executions(fake, '', {} as typeof headers)).toMatchObject({ status: 401, json: { message: 'unauthorized' } });
    expect((await executions(fake, '?limit=251')).status).toBe(400);
    expect((await executions(fake, '?cursor=bogus')).status).toBe(400);
  });

  it('replays injected 429, 5xx and malformed faults', async () => {
    const fake = await start(new N8nFake());
    fake.addFailures('wf-1', 2);
    fake.fail({ status: 429, retryAfterSeconds: 3 }, { status: 502 }, { malformed: true });
    const limited = await executions(fake, '');
    expect(limited).toMatchObject({ status: 429, json: { message: 'Too Many Requests' } });
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(await executions(fake, '')).toMatchObject({ status: 502, json: { message: 'Internal Server Error' } });
    const data = list((await executions(fake, '')).json, 'data');
    expect(data[0]).not.toHaveProperty('id');
    expect(data[1]).toHaveProperty('id', '1');
  });

  it('enforces 5 per second and answers a delayed request late', async () => {
    const fake = await start(new N8nFake());
    const results = await Promise.all(Array.from({ length: 7 }, () => executions(fake, '')));
    expect(results.filter((r) => r.status === 429)).toHaveLength(2);
    expect(fake.rateLimited).toBe(2);
    fake.fail({ delayMs: 150 });
    const began = performance.now();
    expect((await executions(fake, '')).status).toBe(200);
    expect(performance.now() - began).toBeGreaterThanOrEqual(140);
  });
});

describe('N8nFake: an execution that runs, then fails', () => {
  const headers = { 'x-n8n-api-key': 'n8n-test-key' };

  it('is left out of the list while it runs, and listed as failed with its older id afterwards', async () => {
    const fake = await start(new N8nFake({ rateLimit: false }));
    const running = fake.startRunning('wf-1', '2026-01-01T00:00:00.000Z');
    fake.addFailures('wf-1', 2, '2026-01-01T00:00:10.000Z');
    const listed = async (query: string) =>
      list((await call(`${fake.url}/api/v1/executions${query}`, { headers })).json, 'data').map((e) => String(e.id));
    expect(await listed('?status=error')).toEqual(['3', '2']);
    expect(await listed('?status=running')).toEqual([]);
    expect(await listed('')).toEqual(['3', '2']);
    fake.finish(running.id, 'error', '2026-01-01T01:00:00.000Z');
    expect(await listed('?status=error')).toEqual(['3', '2', '1']);
    const [late] = list((await call(`${fake.url}/api/v1/executions?status=error&workflowId=wf-1`, { headers })).json, 'data').slice(-1);
    expect(late).toMatchObject({ id: '1', status: 'error', finished: false, stoppedAt: '2026-01-01T01:00:00.000Z' });
    expect(() => fake.finish(running.id, 'success', '2026-01-01T02:00:00.000Z')).toThrow(/not running/);
  });
});

describe('TelegramFake', () => {
  const base = (fake: TelegramFake, token = fake.token) => `${fake.url}/bot${token}`;

  it('returns updates from the offset and forgets confirmed ones', async () => {
    const fake = await start(new TelegramFake({ rateLimit: false }));
    for (let i = 1; i <= 5; i++) fake.sendFromUser({ chatId: 42, text: `msg ${i}` });
    const texts: string[] = [];
    let offset = 0;
    for (;;) {
      const { json } = await call(`${base(fake)}/getUpdates`, { body: { offset, limit: 2, timeout: 30 } });
      const updates = list(json, 'result');
      if (updates.length === 0) break;
      for (const u of updates) texts.push(String(isRecord(u.message) ? u.message.text : ''));
      offset = Number(updates[updates.length - 1]?.update_id) + 1;
    }
    expect(texts).toEqual(['msg 1', 'msg 2', 'msg 3', 'msg 4', 'msg 5']);
    expect(fake.pending()).toBe(0);
    const viaQuery = await call(`${base(fake)}/getUpdates?offset=${offset}`);
    expect(viaQuery.json).toEqual({ ok: true, result: [] });
  });

  it('records sendMessage and rejects a wrong token', async () => {
    const fake = await start(new TelegramFake({ rateLimit: false }));
    const sent = await call(`${base(fake)}/sendMessage`, { body: { chat_id: 42, text: 'hello' } });
    expect(sent.json).toMatchObject({ ok: true, result: { chat: { id: 42, type: 'private' }, text: 'hello' } });
    expect(fake.sent).toEqual([{ chatId: 42, text: 'hello' }]);
    const denied = await call(`${base(fake, '1:WRONG')}/getUpdates`);
    expect(denied).toMatchObject({ status: 401, json: { ok: false, error_code: 401, description: 'Unauthorized' } });
  });

  it('replays injected 429, 5xx and malformed faults', async () => {
    const fake = await start(new TelegramFake());
    fake.sendFromUser({ chatId: 7, text: 'a' });
    fake.sendFromUser({ chatId: 7, text: 'b' });
    fake.fail({ status: 429, retryAfterSeconds: 4 }, { status: 502 }, { malformed: true });
    const limited = await call(`${base(fake)}/getUpdates`);
    // As the Bot API documents: the wait is in the body only.
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(limited.json).toMatchObject({ ok: false, error_code: 429, parameters: { retry_after: 4 } });
    expect(await call(`${base(fake)}/getUpdates`)).toMatchObject({ status: 502, json: { ok: false, error_code: 502, description: 'Bad Gateway' } });
    const updates = list((await call(`${base(fake)}/getUpdates`)).json, 'result');
    expect(updates[0]).not.toHaveProperty('update_id');
    expect(updates[1]).toHaveProperty('update_id');
  });

  it.each([false, true])('enforces its rate limit with retry_after in the body (a Retry-After header too: %s)', async (withHeader) => {
    const fake = await start(new TelegramFake({ rateLimit: { perSecond: 1, burst: 2 }, retryAfterHeader: withHeader }));
    const results = await Promise.all(Array.from({ length: 3 }, () => call(`${base(fake)}/getUpdates`)));
    const limited = results.find((r) => r.status === 429);
    expect(limited?.headers.get('retry-after')).toBe(withHeader ? '1' : null);
    expect(limited?.json).toMatchObject({ parameters: { retry_after: 1 }, description: 'Too Many Requests: retry after 1' });
    expect(fake.rateLimited).toBe(1);
    expect(fake.requests).toHaveLength(3);
  });

  it('answers getUpdates 409 while a webhook is set (until deleteWebhook) and while another process polls', async () => {
    const fake = await start(new TelegramFake({ rateLimit: false }));
    fake.sendFromUser({ chatId: 7, text: 'a' });
    expect(await call(`${base(fake)}/setWebhook`, { body: { url: 'https://example.com/hook' } })).toMatchObject({ status: 200, json: { ok: true } });
    expect(await call(`${base(fake)}/getUpdates`)).toMatchObject({
      status: 409,
      json: { ok: false, error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" },
    });
    expect(await call(`${base(fake)}/deleteWebhook`, { body: {} })).toMatchObject({ status: 200, json: { ok: true, result: true } });
    fake.otherPoller = true;
    expect(await call(`${base(fake)}/getUpdates`)).toMatchObject({
      status: 409,
      json: { error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' },
    });
    fake.otherPoller = false;
    expect(list((await call(`${base(fake)}/getUpdates`)).json, 'result')).toHaveLength(1);
  });
});

describe('TelegramFake: sendMessage to one chat, at most one a second', () => {
  it('a second message to the same chat within the second gets 429 with retry_after in the body; another chat is free', async () => {
    const fake = new TelegramFake({ rateLimit: false });
    const url = await fake.start();
    try {
      const send = (chat: number) =>
        fetch(`${url}/bot${fake.token}/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: chat, text: 'hi' }) });
      expect((await send(1)).status).toBe(200);
      const limited = await send(1);
      expect(limited.status).toBe(429);
      expect(await limited.json()).toMatchObject({ ok: false, error_code: 429, parameters: { retry_after: 1 } });
      expect((await send(2)).status).toBe(200);
      expect(fake.perChatRateLimited).toBe(1);
      expect(fake.sent.map((m) => m.chatId)).toEqual([1, 2]);
    } finally {
      await fake.close();
    }
  });
});
