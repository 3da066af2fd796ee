import { missingSourceSettings, type Config } from '../../config';
import { TelegramBot, type TelegramUpdate } from '../../integrations/telegram';
import { upsertMemoryItems } from '../../store';
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
  return {
    source: 'chat',
    missing: missingSourceSettings(config, 'chat'),
    startCursor: (watermark) => JSON.stringify(readState<Cursor>('chat', 'watermark', watermark, { offset: null })),
    async fetchPage(cursorJson) {
      const cursor = readState<Cursor>('chat', 'cursor', cursorJson, { offset: null });
      const updates = await bot!.getUpdates(cursor.offset);
      const messages = updates.flatMap((u) => operatorMessage(u, operatorChat!));
      const next: Cursor = { offset: updates.length ? Math.max(...updates.map((u) => u.update_id)) + 1 : cursor.offset };
      const drained = updates.length < UPDATES_PER_CALL;
      return {
        items: messages.length,
        nextCursor: drained ? null : JSON.stringify(next),
        watermark: JSON.stringify(next),
        apply: async (tx, now) => {
          const items = messages.map((m) => ({
            key: `chat.telegram.${m.chatId}.${m.messageId}`,
            value: m,
            authority: 'inferred' as const,
            sourceType: 'chat',
            sourceId: String(m.messageId),
          }));
          await upsertMemoryItems(tx, items, now);
        },
      };
    },
  };
}

function operatorMessage(update: TelegramUpdate, operatorChat: number) {
  const message = update.message ?? update.edited_message;
  if (!message || message.chat.id !== operatorChat || message.from?.is_bot || message.text === undefined) return [];
  return [
    {
      chatId: message.chat.id,
      messageId: message.message_id,
      sentAt: new Date(message.date * 1000).toISOString(),
      text: message.text,
      edited: update.edited_message !== undefined,
    },
  ];
}
