/**
 * POST /v1/webhooks/telegram against a real system and the Telegram fake, on SQLite and
 * PostgreSQL: the secret token is required; an update is stored before the 2xx and exactly once
 * however often and whichever way it arrives (webhook twice, webhook and getUpdates polling);
 * only the operator's chat is kept; a refusal stores nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from '../../src/http/server';
import { createLogger } from '../../src/logger';
import { listMemoryItems } from '../../src/store';
import { TelegramFake, type TelegramUpdate } from '../fakes';
import { startSystem, type TestSystem } from '../helpers/system';
import { webhookApp } from './webhook-helpers';

const SECRET = 'telegram-webhook-secret_for-tests';
const OPERATOR = 4242;
const DIALECTS = ['sqlite', 'postgres'] as const;
const who = { actor: 'test', reason: 'webhook kill switch test' };

function deliver(app: FastifyInstance, update: unknown, secret: string | null = SECRET, raw?: string) {
  return app.inject({
    method: 'POST',
    url: '/v1/webhooks/telegram',
    payload: raw ?? JSON.stringify(update),
    headers: { 'content-type': 'application/json', ...(secret === null ? {} : { 'x-telegram-bot-api-secret-token': secret }) },
  });
}

async function stored(sys: TestSystem, update: TelegramUpdate) {
  return listMemoryItems(sys.store.db, { key: `chat.telegram.${update.message.chat.id}.${update.message.message_id}` });
}

for (const dialect of DIALECTS) {
  describe(`Telegram webhook on ${dialect}`, () => {
    const telegram = new TelegramFake({ rateLimit: false });
    let sys: TestSystem;
    let app: FastifyInstance;

    beforeAll(async () => {
      const url = await telegram.start();
      sys = await startSystem({
        dialect,
        config: { webhooks: { telegram: { secretToken: SECRET } }, telegram: { botToken: telegram.token, apiBase: url, chatId: String(OPERATOR) }, sources: { pageTimeoutMs: 10_000 } },
      });
      await sys.ops.ensureControls();
      app = await webhookApp(sys);
    });
    afterAll(async () => {
      await app?.close();
      await sys?.close();
      await telegram.close();
    });

    /** One chat sync by polling (periodic_scan: the chat source has no job of its own). */
    async function poll() {
      const result = await sys.ops.runJob('periodic_scan');
      return (result.output?.sources as { source: string }[] | undefined)?.find((s) => s.source === 'chat');
    }

    it('the right secret: the operator message is stored before the 200, with its update id', async () => {
      const update = telegram.sendFromUser({ chatId: OPERATOR, text: 'first by webhook' });
      const response = await deliver(app, update);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ updateId: update.update_id, stored: 1, repeated: 0 });
      const [row, ...more] = await stored(sys, update);
      expect(more).toEqual([]);
      expect(JSON.parse(row!.value)).toEqual({
        chatId: OPERATOR,
        messageId: update.message.message_id,
        sentAt: new Date(update.message.date * 1000).toISOString(),
        text: 'first by webhook',
        edited: false,
        updateId: update.update_id,
      });
    });

    it('a wrong or missing secret: 401, nothing stored', async () => {
      const update = telegram.sendFromUser({ chatId: OPERATOR, text: 'forged' });
      expect((await deliver(app, update, 'wrong-secret')).statusCode).toBe(401);
      expect((await deliver(app, update, `${SECRET}x`)).statusCode).toBe(401);
      expect((await deliver(app, update, null)).statusCode).toBe(401);
      expect(await stored(sys, update)).toEqual([]);
    });

    it('a body that is not one Update: 400 (or 413 when huge), nothing stored', async () => {
      const update = telegram.sendFromUser({ chatId: OPERATOR, text: 'bad bodies' });
      expect((await deliver(app, undefined, SECRET, '{"update_id": 1,')).statusCode).toBe(400);
      expect((await deliver(app, { ...update, update_id: String(update.update_id) })).statusCode).toBe(400);
      expect((await deliver(app, { ...update, message: { ...update.message, chat: { id: 'me' } } })).statusCode).toBe(400);
      expect((await deliver(app, { ...update, message: { ...update.message, text: 'x'.repeat(4097) } })).statusCode).toBe(400);
      const huge = await deliver(app, { ...update, padding: 'x'.repeat(300 * 1024) });
      expect(huge.statusCode).toBe(413);
      const refused = await deliver(app, [update]);
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error).toBe('Telegram update refused: (body): Invalid input: expected object, received array');
      expect(await stored(sys, update)).toEqual([]);
    });

    it("another chat's message, or an update without text: acknowledged, kept nowhere", async () => {
      const stranger = telegram.sendFromUser({ chatId: 777, text: 'not the operator' });
      expect((await deliver(app, stranger)).json()).toMatchObject({ stored: 0 });
      expect(await stored(sys, stranger)).toEqual([]);
      const { text: _text, ...photo } = telegram.sendFromUser({ chatId: OPERATOR, text: 'x' }).message;
      expect((await deliver(app, { update_id: 999_001, message: photo })).json()).toMatchObject({ stored: 0 });
    });

    it('the same update delivered twice, and five times at once: stored once', async () => {
      const update = telegram.sendFromUser({ chatId: OPERATOR, text: 'delivered again' });
      expect((await deliver(app, update)).json()).toMatchObject({ stored: 1 });
      expect((await deliver(app, update)).json()).toMatchObject({ stored: 0, repeated: 1 });
      const burst = telegram.sendFromUser({ chatId: OPERATOR, text: 'five at once' });
      const answers = await Promise.all(Array.from({ length: 5 }, () => deliver(app, burst)));
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200]);
      expect(answers.reduce((n, a) => n + (a.json() as { stored: number }).stored, 0)).toBe(1);
      for (const u of [update, burst]) {
        const rows = await stored(sys, u);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ version: 1 });
      }
    });

    it('webhook then polling, and polling then webhook: each update stored once', async () => {
      const viaWebhookFirst = telegram.sendFromUser({ chatId: OPERATOR, text: 'webhook, then polled' });
      expect((await deliver(app, viaWebhookFirst)).json()).toMatchObject({ stored: 1 });
      const polledFirst = telegram.sendFromUser({ chatId: OPERATOR, text: 'polled, then webhook' });
      // getUpdates still holds both (and the earlier ones): polling reads them all again.
      expect(await poll()).toMatchObject({ outcome: 'succeeded' });
      expect((await deliver(app, polledFirst)).json()).toMatchObject({ stored: 0, repeated: 1 });
      for (const u of [viaWebhookFirst, polledFirst]) {
        const rows = await stored(sys, u);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ version: 1 });
      }
      const all = await listMemoryItems(sys.store.db, { sourceType: 'chat' });
      expect(new Set(all.map((r) => r.key)).size).toBe(all.length);
    });

    it('an edit is kept; the original delivered late does not roll it back', async () => {
      const original = telegram.sendFromUser({ chatId: OPERATOR, text: 'typo' });
      const edit = { update_id: original.update_id + 50_000, edited_message: { ...original.message, text: 'fixed' } };
      expect((await deliver(app, edit)).json()).toMatchObject({ stored: 1 });
      expect((await deliver(app, original)).json()).toMatchObject({ stored: 0, repeated: 1 });
      const [row] = await stored(sys, original);
      expect(JSON.parse(row!.value)).toMatchObject({ text: 'fixed', edited: true, updateId: edit.update_id });
    });

    it('our webhook registered at Telegram: polling yields to it instead of failing', async () => {
      telegram.webhookUrl = 'https://ops.example.com/v1/webhooks/telegram';
      try {
        expect(await poll()).toMatchObject({ outcome: 'succeeded', items: 0 });
      } finally {
        telegram.webhookUrl = null;
      }
    });

    it('through the API server (bearer token on /v1): the webhooks answer with their own secrets, no bearer needed', async () => {
      const config = { ...sys.config, http: { ...sys.config.http, token: 'api-token-0123456789abcdef' }, webhooks: { ...sys.config.webhooks, hubspot: { ...sys.config.webhooks.hubspot, clientSecret: 'x' } } };
      const server = await buildHttpApp({ config, ops: sys.ops, logger: createLogger('silent') });
      try {
        const update = telegram.sendFromUser({ chatId: OPERATOR, text: 'through the server' });
        const response = await server.inject({ method: 'POST', url: '/v1/webhooks/telegram', payload: JSON.stringify(update), headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET } });
        expect(response.json()).toMatchObject({ stored: 1 });
        const unsigned = await server.inject({ method: 'POST', url: '/v1/webhooks/hubspot', payload: '[]', headers: { 'content-type': 'application/json' } });
        expect(unsigned.statusCode).toBe(401);
        expect(unsigned.json().error).toBe('HubSpot signature refused: X-HubSpot-Signature-v3 header is missing');
        const huge = await server.inject({ method: 'POST', url: '/v1/webhooks/telegram', payload: JSON.stringify({ ...update, padding: 'x'.repeat(300 * 1024) }), headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET } });
        expect(huge.statusCode).toBe(413);
      } finally {
        await server.close();
      }
    });

    it('kill switch on: 503 and nothing stored (Telegram delivers it again); stored once it is off', async () => {
      const update = telegram.sendFromUser({ chatId: OPERATOR, text: 'during the kill switch' });
      await sys.ops.setKillSwitch(true, who);
      try {
        const refused = await deliver(app, update);
        expect(refused.statusCode).toBe(503);
        expect(refused.headers['retry-after']).toBe('60');
        expect(await stored(sys, update)).toEqual([]);
      } finally {
        await sys.ops.setKillSwitch(false, who);
      }
      expect((await deliver(app, update)).json()).toMatchObject({ stored: 1 });
    });
  });
}
