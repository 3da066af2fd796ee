/**
 * POST /v1/webhooks/telegram: the bot's updates pushed by Telegram (setWebhook), instead of the
 * chat source polling getUpdates. Telegram names our secret in X-Telegram-Bot-Api-Secret-Token
 * (401 without it); the body is one Update (400 when it is not). The operator's message in it is
 * stored before the 2xx, through the chat source's own write (storeChatMessages), so an update
 * is stored once whichever way it arrives, however often: a repeat, or the same update read again
 * by polling, changes nothing. With the kill switch on or writes off nothing is stored and the
 * answer is 503: Telegram keeps the update and delivers it again, as polling would leave it unread.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { operatorMessage, storeChatMessages, type OperatorMessage } from '../../activities/sources/chat';
import { TELEGRAM_MAX_TEXT } from '../../integrations/telegram';
import { readControls, writeTransaction } from '../../store';
import type { HttpDeps } from '../deps';
import { constantTimeEqual } from './hubspot-signature';
import { firstHeader, issuesText, rawJsonParser } from './raw-body';

export const TELEGRAM_WEBHOOK_PATH = '/v1/webhooks/telegram';

/** One update: a message with its reply and entities fits many times over. */
const MAX_UPDATE_BYTES = 256 * 1024;
/** Telegram redelivers a refused update; this asks it to wait. */
const RETRY_AFTER_SECONDS = 60;
/** Two deliveries of one message at once: the second writer meets the first's row and tries again. */
const STORE_ATTEMPTS = 3;

const messageSchema = z.object({
  message_id: z.number().int(),
  date: z.number().int().nonnegative(),
  chat: z.object({ id: z.number().int(), type: z.string().max(32) }),
  from: z.object({ id: z.number().int(), is_bot: z.boolean() }).optional(),
  // Telegram's own limit on a message's text; captions and media are not kept.
  text: z.string().max(TELEGRAM_MAX_TEXT).optional(),
});
const updateSchema = z.object({
  update_id: z.number().int().nonnegative(),
  message: messageSchema.optional(),
  edited_message: messageSchema.optional(),
});

export async function registerTelegramWebhook(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  const { config, logger } = deps;
  const secret = config.webhooks.telegram.secretToken;
  const chatId = config.telegram.chatId;
  if (!secret || chatId === undefined) {
    const missing = [!secret && 'TELEGRAM_WEBHOOK_SECRET', chatId === undefined && 'TELEGRAM_CHAT_ID'].filter(Boolean).join(' and ');
    logger.info({ route: TELEGRAM_WEBHOOK_PATH }, `Telegram webhook off: ${missing} not set`);
    return;
  }
  const operatorChat = Number(chatId);
  const bodyLimit = Math.min(config.http.bodyLimitBytes, MAX_UPDATE_BYTES);
  await app.register(async (scope) => {
    rawJsonParser(scope, bodyLimit);
    scope.post(TELEGRAM_WEBHOOK_PATH, { bodyLimit }, async (request: FastifyRequest, reply: FastifyReply) => {
      const given = firstHeader(request, 'x-telegram-bot-api-secret-token');
      if (given === undefined || !constantTimeEqual(given, secret)) {
        request.log.warn('Telegram webhook refused: wrong or missing secret token');
        return reply.code(401).send({ error: 'X-Telegram-Bot-Api-Secret-Token is missing or wrong' });
      }
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return reply.code(400).send({ error: 'Telegram update refused: not JSON' });
      }
      const parsed = updateSchema.safeParse(json);
      if (!parsed.success) return reply.code(400).send({ error: `Telegram update refused: ${issuesText(parsed.error)}` });
      const messages = operatorMessage(parsed.data, operatorChat);
      // Another chat's update, or not a text message: acknowledged, kept nowhere (as polling does).
      if (messages.length === 0) return reply.code(200).send({ updateId: parsed.data.update_id, stored: 0 });
      return store(deps, reply, parsed.data.update_id, messages);
    });
  });
  logger.info({ route: TELEGRAM_WEBHOOK_PATH }, 'Telegram webhook on');
}

async function store(deps: HttpDeps, reply: FastifyReply, updateId: number, messages: OperatorMessage[]): Promise<FastifyReply> {
  const db = deps.ops.store.db;
  for (let attempt = 1; ; attempt++) {
    try {
      const outcome = await writeTransaction(db, async (tx) => {
        const controls = await readControls(tx);
        if (controls?.killSwitch) return { refused: 'the kill switch is on' } as const;
        if (controls && !controls.writeEnabled) return { refused: 'writes are disabled' } as const;
        return { counts: await storeChatMessages(tx, messages, new Date()) } as const;
      });
      if ('refused' in outcome) {
        return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ error: `not stored: ${outcome.refused}; Telegram will deliver it again` });
      }
      const { inserted, changed, repeated, unchanged } = outcome.counts;
      return reply.code(200).send({ updateId, stored: inserted + changed, repeated: repeated + unchanged });
    } catch (err) {
      if (attempt < STORE_ATTEMPTS) continue;
      deps.logger.error({ err, updateId }, 'Telegram webhook: could not store the update');
      return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ error: 'not stored: the store failed; Telegram will deliver it again' });
    }
  }
}
