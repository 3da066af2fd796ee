/**
 * Each API client against its fake: pagination to the end, and every failure mapped to its
 * spec category (401 auth, 429 with Retry-After, 5xx transient, a malformed body validation).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, ExternalApiError, TransientError, ValidationError, type OpsError } from '../../src/errors';
import { HubSpotSource } from '../../src/integrations/hubspot';
import { N8nSource } from '../../src/integrations/n8n';
import { NotionSource } from '../../src/integrations/notion';
import { TelegramBot } from '../../src/integrations/telegram';
import { HubSpotFake, N8nFake, NotionFake, TelegramFake, type HttpFake } from '../fakes';

interface Case {
  name: string;
  fake: HttpFake;
  /** Fetches every page; returns how many records came back. */
  all(): Promise<number>;
  records: number;
  /** One request, for the failure cases. */
  one(): Promise<unknown>;
  /** Where a malformed body's error must point. */
  field: RegExp;
}

const notionFake = new NotionFake({ pages: NotionFake.generatePages(230), rateLimit: false });
const hubspotFake = new HubSpotFake({ contacts: HubSpotFake.generateContacts(250), rateLimit: false });
const n8nFake = new N8nFake({ rateLimit: false });
const telegramFake = new TelegramFake({ rateLimit: false });
n8nFake.addFailures('wf-1', 7);
for (let i = 0; i < 5; i++) telegramFake.sendFromUser({ chatId: 1, text: `message ${i}` });

const cases: Case[] = [];

beforeAll(async () => {
  const [notionUrl, hubspotUrl, n8nUrl, telegramUrl] = await Promise.all(
    [notionFake, hubspotFake, n8nFake, telegramFake].map((f) => f.start()),
  );
  const notion = new NotionSource({ token: notionFake.token, baseUrl: notionUrl!, tagsProperty: 'Tags', timeoutMs: 5000 });
  const hubspot = new HubSpotSource({ token: hubspotFake.token, baseUrl: hubspotUrl!, pageSize: 100 });
  const n8n = new N8nSource({ baseUrl: n8nUrl!, apiKey: n8nFake.apiKey, pageSize: 3, timeoutMs: 5000 });
  const telegram = new TelegramBot({ botToken: telegramFake.token, apiBase: telegramUrl!, timeoutMs: 5000 });
  cases.push(
    {
      name: 'Notion search',
      fake: notionFake,
      records: 230,
      field: /results\.0\.id/,
      one: () => notion.searchPages(null),
      all: () => drain((cursor) => notion.searchPages(cursor), (p) => [p.pages.length, p.nextCursor]),
    },
    {
      name: 'HubSpot contact search',
      fake: hubspotFake,
      records: 250,
      field: /results\.0\.id/,
      one: () => hubspot.modifiedSince(0, null),
      all: () => drain((after) => hubspot.modifiedSince(0, after), (p) => [p.contacts.length, p.after]),
    },
    {
      name: 'n8n executions',
      fake: n8nFake,
      records: 7,
      field: /data\.0\.id/,
      one: () => n8n.failedExecutions(null),
      all: () => drain((cursor) => n8n.failedExecutions(cursor), (p) => [p.executions.length, p.nextCursor]),
    },
    {
      name: 'Telegram getUpdates',
      fake: telegramFake,
      records: 5,
      field: /result\.0\.update_id/,
      one: () => telegram.getUpdates(null),
      all: async () => (await telegram.getUpdates(null)).length,
    },
  );
});

afterAll(async () => {
  await Promise.all([notionFake, hubspotFake, n8nFake, telegramFake].map((f) => f.close()));
});

const each = (title: string, test: (c: Case) => Promise<void>) =>
  it.each(['Notion search', 'HubSpot contact search', 'n8n executions', 'Telegram getUpdates'])(`%s: ${title}`, async (name) => {
    const c = cases.find((x) => x.name === name)!;
    c.fake.clearFaults();
    await test(c);
  });

/** Follows a cursor to the end; returns how many records came back. */
async function drain<P>(fetch: (cursor: string | null) => Promise<P>, read: (page: P) => [number, string | null]): Promise<number> {
  let total = 0;
  let cursor: string | null = null;
  do {
    const [count, next] = read(await fetch(cursor));
    total += count;
    cursor = next;
  } while (cursor);
  return total;
}

async function failure(c: Case): Promise<OpsError> {
  const err = await c.one().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!err) throw new Error(`${c.name}: expected a failure`);
  return err as OpsError;
}

describe('API clients against their fakes', () => {
  each('pages to the end', async (c) => {
    expect(await c.all()).toBe(c.records);
  });

  each('401 is an auth error', async (c) => {
    c.fake.fail({ status: 401 });
    const err = await failure(c);
    expect(err).toBeInstanceOf(AuthError);
    expect(err.message).toMatch(/401/);
  });

  each('429 is a rate limit that carries its Retry-After', async (c) => {
    c.fake.fail({ status: 429, retryAfterSeconds: 7 });
    const err = await failure(c);
    expect(err).toBeInstanceOf(ExternalApiError);
    expect(err.retryAfterMs).toBe(7000);
  });

  each('5xx is transient', async (c) => {
    c.fake.fail({ status: 503 });
    expect(await failure(c)).toBeInstanceOf(TransientError);
  });

  each("a 5xx whose body is not JSON (a proxy's error page) is still transient", async (c) => {
    c.fake.fail({ status: 502, raw: '<html><body>502 Bad Gateway</body></html>' });
    const err = await failure(c);
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(/502/);
  });

  each('a malformed body is a validation error naming the field', async (c) => {
    c.fake.fail({ malformed: true });
    const err = await failure(c);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(c.field);
  });

  it('a token never appears in an error message', async () => {
    const telegram = cases.find((c) => c.name === 'Telegram getUpdates')!;
    telegram.fake.fail({ status: 500 });
    const err = await failure(telegram);
    expect(err.message).not.toContain(telegramFake.token);
  });
});

describe('Telegram getUpdates: what the real Bot API answers besides success', () => {
  const fake = new TelegramFake({ rateLimit: false });
  let bot: TelegramBot;

  beforeAll(async () => {
    bot = new TelegramBot({ botToken: fake.token, apiBase: await fake.start(), timeoutMs: 5000 });
  });
  afterAll(async () => {
    await fake.close();
  });
  const attempt = () => bot.getUpdates(null).then(() => undefined, (e: unknown) => e as OpsError);

  it('409 while a webhook is set: auth (a person must act, retrying cannot help), naming deleteWebhook', async () => {
    fake.webhookUrl = 'https://example.com/hook';
    const err = await attempt();
    fake.webhookUrl = null;
    expect(err).toBeInstanceOf(AuthError);
    expect(err?.message).toMatch(/409.*webhook is set for this bot.*deleteWebhook/);
    expect(err?.message).not.toContain(fake.token);
  });

  it('409 because another process polls the same bot: a retryable API error that says to stop the other one', async () => {
    fake.otherPoller = true;
    const err = await attempt();
    fake.otherPoller = false;
    expect(err).toBeInstanceOf(ExternalApiError);
    expect(err).toMatchObject({ category: 'external_api', status: 409 });
    expect(err?.message).toMatch(/another process is reading this bot's updates.*Stop the other bot instance/);
  });

  it("a 429 whose wait is only in the body (parameters.retry_after, no Retry-After header) is honoured", async () => {
    fake.fail({ status: 429, retryAfterSeconds: 7 });
    const err = await attempt();
    expect(err).toBeInstanceOf(ExternalApiError);
    expect(err?.retryAfterMs).toBe(7000);
  });
});
