/**
 * The Telegram Bot API (no official JS SDK; plain HTTPS): the updates the bot received, read
 * with an offset that confirms everything before it, and plain-text messages the bot sends.
 */
import { z } from 'zod';
import { AuthError, ExternalApiError, TransientError, ValidationError, type OpsError } from '../errors';
import { errorDetail, httpFailure, parseResponse, readJson } from './http';

export interface TelegramSettings {
  botToken: string;
  apiBase: string;
  timeoutMs: number;
}

const messageSchema = z.object({
  message_id: z.number().int(),
  date: z.number().int(),
  chat: z.object({ id: z.number().int(), type: z.string() }),
  from: z.object({ id: z.number().int(), is_bot: z.boolean() }).optional(),
  text: z.string().optional(),
});
const updateSchema = z.object({
  update_id: z.number().int(),
  message: messageSchema.optional(),
  edited_message: messageSchema.optional(),
});
const updatesSchema = z.object({ ok: z.literal(true), result: z.array(updateSchema) });
const sentSchema = z.object({ ok: z.literal(true), result: z.object({ message_id: z.number().int() }) });
const errorSchema = z.object({ description: z.string().optional(), parameters: z.object({ retry_after: z.number() }).optional() });

export type TelegramUpdate = z.infer<typeof updateSchema>;
export { updateSchema as telegramUpdateSchema, messageSchema as telegramMessageSchema };

/** Telegram's limit on one message's text (1-4096 characters), counted as String#length does. */
export const TELEGRAM_MAX_TEXT = 4096;

export class TelegramBot {
  constructor(private readonly settings: TelegramSettings) {}

  /** Updates from `offset` on (all earlier ones are confirmed by asking), at most 100. */
  async getUpdates(offset: number | null): Promise<TelegramUpdate[]> {
    const body = await this.call('getUpdates', {
      ...(offset !== null ? { offset } : {}),
      limit: 100,
      timeout: 0,
      allowed_updates: ['message', 'edited_message'],
    });
    return parseResponse('Telegram getUpdates', updatesSchema, body).result;
  }

  /** Sends `text` as is (no parse_mode, so no markup is interpreted); too long or empty is rejected before any request. */
  async sendMessage(chatId: string, text: string): Promise<{ messageId: number }> {
    if (text.trim() === '') throw new ValidationError('Telegram sendMessage: text is empty');
    if (text.length > TELEGRAM_MAX_TEXT) {
      throw new ValidationError(`Telegram sendMessage: text is ${text.length} characters, over Telegram's limit of ${TELEGRAM_MAX_TEXT}`);
    }
    const body = await this.call('sendMessage', { chat_id: chatId, text });
    return { messageId: parseResponse('Telegram sendMessage', sentSchema, body).result.message_id };
  }

  private async call(method: string, params: Record<string, unknown>): Promise<unknown> {
    // The token is part of the URL: it never goes into an error message.
    const url = `${this.settings.apiBase}/bot${this.settings.botToken}/${method}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (err) {
      throw new TransientError(`Telegram ${method}: unreachable (${(err as Error).name})`);
    }
    if (!response.ok) {
      // The status decides the category; a body that is not Telegram's JSON (a proxy's 502 page)
      // is only the detail, so a server error is still retried.
      const text = await response.text().catch(() => '');
      const detail = errorDetail(text, errorSchema, (error) => error.description, this.settings.botToken);
      if (response.status === 409) throw conflict(method, detail);
      const retryAfter = response.headers.get('retry-after') ?? retryAfterOf(text);
      throw httpFailure(`Telegram ${method}`, response.status, detail, retryAfter);
    }
    return readJson(`Telegram ${method}`, response);
  }
}

/** getUpdates refused because a webhook is set for the bot (auth: a person must act, unless the webhook is ours). */
export class TelegramWebhookActive extends AuthError {}

/**
 * Telegram answers getUpdates 409 Conflict in two cases, which call for different handling:
 * - a webhook is set for the bot: getUpdates never works until someone removes it (deleteWebhook)
 *   or gives this system its own bot. Retrying cannot help and a person must act, as with a
 *   refused token: auth (not retried, alerted at once).
 * - another process polls with the same token: Telegram ends one of the two requests. Often
 *   brief (an old process still running during a restart), so it is retried like any API error;
 *   if it persists, the consecutive-failures alert fires. The other process confirms, and so
 *   takes away, the updates it reads, so the message says which process to stop.
 */
function conflict(method: string, detail: string): OpsError {
  if (/webhook/i.test(detail)) {
    return new TelegramWebhookActive(
      `Telegram ${method} answered HTTP 409: a webhook is set for this bot, so it cannot read updates by polling. ` +
        `Remove the webhook (deleteWebhook) or give this system a bot of its own. (${detail})`,
    );
  }
  return new ExternalApiError(
    `Telegram ${method} answered HTTP 409: another process is reading this bot's updates (only one may poll; ` +
      `the updates it reads are lost to this sync). Stop the other bot instance. (${detail})`,
    409,
  );
}

/** Telegram's own Retry-After: `parameters.retry_after` in an error body. */
function retryAfterOf(text: string): string | undefined {
  try {
    return errorSchema.safeParse(JSON.parse(text)).data?.parameters?.retry_after?.toString();
  } catch {
    return undefined;
  }
}
