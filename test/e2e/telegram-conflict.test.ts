/**
 * Telegram answers getUpdates 409 Conflict when a webhook is set for the bot, or when another
 * process polls with the same token. The chat sync (in periodic_scan) treats the first as a
 * setup problem for a person (auth: not retried, alerted at once) and the second as a passing API
 * error (retried; the messages are read once the other poller stops).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listIncidents, listMemoryItems } from '../../src/store';
import { TelegramFake } from '../fakes';
import { startSystem, type TestSystem } from '../helpers/system';

const OPERATOR = 4242;
const OTHER_POLLER = 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running';

interface ScanSource {
  source: string;
  outcome: string;
  category?: string;
  items?: number;
}

describe('Telegram 409 Conflict on the chat sync (SQLite)', () => {
  const telegram = new TelegramFake({ rateLimit: false });
  let sys: TestSystem;

  beforeAll(async () => {
    const url = await telegram.start();
    sys = await startSystem({
      config: { sources: { pageTimeoutMs: 10_000 }, telegram: { botToken: telegram.token, apiBase: url, chatId: String(OPERATOR) } },
    });
  });
  afterAll(async () => {
    await sys.close();
    await telegram.close();
  });

  const chatOf = (output: unknown) => (output as { sources: ScanSource[] }).sources.find((s) => s.source === 'chat');

  it('a webhook set for the bot: auth at once (one request, no retry), with an alert that says to remove it', async () => {
    telegram.sendFromUser({ chatId: OPERATOR, text: 'kept for later' });
    telegram.webhookUrl = 'https://example.com/hook';
    const before = telegram.requests.length;
    const result = await sys.ops.runJob('periodic_scan');
    telegram.webhookUrl = null;
    expect(chatOf(result.output)).toMatchObject({ outcome: 'failed', category: 'auth' });
    expect(telegram.requests.length - before).toBe(1);
    const alert = (await listIncidents(sys.store.db)).find((i) => i.type === 'auth_failure' && i.subject === 'source:chat');
    expect(alert?.body).toMatch(/webhook is set for this bot.*deleteWebhook/);
    expect(telegram.pending()).toBe(1);
  });

  it('another process polling the bot: retried, and the messages are read once it stops', async () => {
    const conflict = { status: 409, body: { ok: false, error_code: 409, description: OTHER_POLLER }, path: 'getUpdates' };
    telegram.fail(conflict, conflict);
    const before = telegram.requests.length;
    const result = await sys.ops.runJob('periodic_scan');
    expect(chatOf(result.output)).toMatchObject({ outcome: 'succeeded', items: 1 });
    expect(telegram.requests.length - before).toBe(3);
    const chat = await listMemoryItems(sys.store.db, { sourceType: 'chat' });
    expect(chat.map((c) => (JSON.parse(c.value) as { text: string }).text)).toEqual(['kept for later']);
  });
});
