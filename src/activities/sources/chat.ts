import type { Kysely } from 'kysely';
import { missingSourceSettings, type Config } from '../../config';
import { TelegramBot, TelegramWebhookActive, type TelegramUpdate } from '../../integrations/telegram';
import { upsertMemoryItems, type Database, type WriteCounts } from '../../store';
import { readState, type SourceAdapter } from './adapter';

interface Cursor {
  /** getUpdates offset: every update before it is confirmed and stored. */
  offset: number | null;
}

/** Telegram returns at most this many updates per call; fewer means the queue is drained. */
const UPDATES_PER_CALL = 100;

/**
 * The chat log: what the operator sent the bot. Reading with an offset confirms earlier
 * updates to Telegram, so the offset is stored with the messages, never ahead of them.
 */
export function chatAdapter(config: Config): SourceAdapter {
  const { botToken, apiBase, chatId } = config.telegram;
  const bot = botToken ? new TelegramBot({ botToken, apiBase, timeoutMs: config.sources.pageTimeoutMs }) : undefined;
  const operatorChat = chatId === undefined ? undefined : Number(chatId);
  const webhookConfigured = config.webhooks.telegram.secretToken !== undefined;
  return {
    source: 'chat',
    missing: missingSourceSettings(config, 'chat'),
    startCursor: (watermark) => JSON.stringify(readState<Cursor>('chat', 'watermark', watermark, { offset: null })),
    async fetchPage(cursorJson) {
      const cursor = readState<Cursor>('chat', 'cursor', cursorJson, { offset: null });
      let updates: TelegramUpdate[];
      try {
        updates = await bot!.getUpdates(cursor.offset);
      } catch (err) {
        // Our own webhook (POST /v1/webhooks/telegram) is registered: Telegram delivers the
        // updates there and refuses polling. Nothing to read, and nothing is wrong.
        if (err instanceof TelegramWebhookActive && webhookConfigured) return { items: 0, nextCursor: null, watermark: JSON.stringify(cursor), apply: async () => {} };
        throw err;
      }
      const messages = updates.flatMap((u) => operatorMessage(u, operatorChat!));
      const next: Cursor = { offset: updates.length ? Math.max(...updates.map((u) => u.update_id)) + 1 : cursor.offset };
      const drained = updates.length < UPDATES_PER_CALL;
      return {
        items: messages.length,
        nextCursor: drained ? null : JSON.stringify(next),
        watermark: JSON.stringify(next),
        apply: async (tx, now) => {
          await storeChatMessages(tx, messages, now);
        },
      };
    },
  };
}

export interface OperatorMessage {
  chatId: number;
  messageId: number;
  sentAt: string;
  text: string;
  edited: boolean;
  /** The update that carried it: a later update (an edit) wins, an earlier or the same one is a repeat. */
  updateId: number;
}

/** The operator's text message in this update, if it carries one (the chat source keeps nothing else). */
export function operatorMessage(update: TelegramUpdate, operatorChat: number): OperatorMessage[] {
  const message = update.message ?? update.edited_message;
  if (!message || message.chat.id !== operatorChat || message.from?.is_bot || message.text === undefined) return [];
  return [
    {
      chatId: message.chat.id,
      messageId: message.message_id,
      sentAt: new Date(message.date * 1000).toISOString(),
      text: message.text,
      edited: update.edited_message !== undefined,
      updateId: update.update_id,
    },
  ];
}

/** One current row per Telegram message. */
export const chatMessageKey = (m: Pick<OperatorMessage, 'chatId' | 'messageId'>): string => `chat.telegram.${m.chatId}.${m.messageId}`;

/**
 * Stores the operator's messages, whichever way they arrived (getUpdates or the webhook), exactly
 * once per update: a message already stored from this update or a later one (its edit) is left as
 * it is, so a repeated or late delivery neither duplicates nor rolls back anything. Call inside
 * a transaction; the unique current key makes two concurrent writers of one message collide
 * instead of both inserting.
 */
export async function storeChatMessages(tx: Kysely<Database>, messages: readonly OperatorMessage[], now: Date): Promise<WriteCounts & { repeated: number }> {
  if (messages.length === 0) return { inserted: 0, changed: 0, unchanged: 0, repeated: 0 };
  const keys = messages.map(chatMessageKey);
  const rows = await tx.selectFrom('memory_items').select(['key', 'value']).where('key', 'in', keys).where('superseded_at', 'is', null).execute();
  const storedUpdate = new Map(rows.map((r) => [r.key, updateIdOf(r.value)]));
  const fresh = messages.filter((m) => {
    const stored = storedUpdate.get(chatMessageKey(m));
    return stored === undefined || stored < m.updateId;
  });
  const items = fresh.map((m) => ({
    key: chatMessageKey(m),
    value: m,
    authority: 'inferred' as const,
    sourceType: 'chat',
    sourceId: String(m.messageId),
  }));
  const counts = await upsertMemoryItems(tx, items, now);
  return { ...counts, repeated: messages.length - fresh.length };
}

/** A row stored before update ids were kept has none: -1, so any delivery may refresh it. */
function updateIdOf(value: string): number {
  try {
    const id = (JSON.parse(value) as { updateId?: unknown }).updateId;
    return typeof id === 'number' ? id : -1;
  } catch {
    return -1;
  }
}
