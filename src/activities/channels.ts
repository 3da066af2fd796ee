/**
 * The ways a message can leave: each channel is an adapter over its provider's API, present
 * only when configured. `console` (the log) is always there, the default when nothing else is.
 */
import { configSecrets, type Config } from '../config';
import { recordSendInDryRun } from './dry-run';
import { DISPATCH_JITTER_SECONDS } from '../sources';
import { SalesmsgClient } from '../integrations/salesmsg';
import { TelegramBot } from '../integrations/telegram';
import { TwilioVoice } from '../integrations/twilio';
import type { Logger } from '../logger';
import type { AddressKind, Channel } from '../store';
import { crashAfter } from './crash-points';

export interface ChannelSender {
  /** Who gets it when the request names nobody: the operator's configured address. */
  readonly defaultRecipient: string | undefined;
  readonly addressKind: AddressKind | null;
  /** The provider's service name, as api_calls counts it. */
  readonly service: string | null;
  /** Sends; returns the provider's id of the message or call. */
  send(recipient: string, text: string): Promise<string>;
}

/** The console channel's only recipient: the log. */
export const CONSOLE_RECIPIENT = 'log';

export type Channels = Partial<Record<Channel, ChannelSender>> & { console: ChannelSender };

/**
 * Telegram's limit per chat: about one message a second ("avoid sending more than one message per
 * second" in a chat; its 30 a second in all is far above what one operator gets). Every channel
 * set of the process shares this pacer, so messages to one chat leave a second (and a jitter)
 * after the previous one was answered. A second process may still meet a 429: its retry_after is
 * honoured like any Retry-After.
 */
const telegramChatPacer = (() => {
  const answeredAt = new Map<string, number>();
  const spacingMs = 1000 + DISPATCH_JITTER_SECONDS * 1000;
  return {
    async wait(chatId: string): Promise<void> {
      const last = answeredAt.get(chatId);
      const waitMs = last === undefined ? 0 : last + spacingMs - Date.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, spacingMs)));
    },
    answered(chatId: string): void {
      answeredAt.set(chatId, Date.now());
      // Bounded: only chats written to in the last few seconds matter.
      if (answeredAt.size > 1000) for (const [chat, at] of answeredAt) if (at < Date.now() - 10_000) answeredAt.delete(chat);
    },
  };
})();

export function createChannels(config: Config, logger: Logger): Channels {
  const timeoutMs = config.comms.sendTimeoutMs;
  const { salesmsg, twilio, operatorPhone } = config.comms;
  const channels: Channels = {
    console: {
      defaultRecipient: CONSOLE_RECIPIENT,
      addressKind: null,
      service: null,
      send: async (recipient, text) => {
        logger.info({ channel: 'console', recipient, text }, 'message (console channel: no provider is configured)');
        return crashAfter('send.console.after_accept', `console-${Date.now()}`);
      },
    },
  };
  if (config.telegram.botToken) {
    const bot = new TelegramBot({ botToken: config.telegram.botToken, apiBase: config.telegram.apiBase, timeoutMs });
    channels.telegram = {
      defaultRecipient: config.telegram.chatId,
      addressKind: 'telegram',
      service: 'telegram',
      send: async (chatId, text) => {
        await telegramChatPacer.wait(chatId);
        try {
          return crashAfter('send.telegram.after_accept', String((await bot.sendMessage(chatId, text)).messageId));
        } finally {
          telegramChatPacer.answered(chatId);
        }
      },
    };
  }
  if (salesmsg.token) {
    const client = new SalesmsgClient({ token: salesmsg.token, baseUrl: salesmsg.baseUrl, numberId: salesmsg.numberId, timeoutMs });
    channels.sms = {
      defaultRecipient: operatorPhone,
      addressKind: 'phone',
      service: 'salesmsg',
      send: async (to, text) => crashAfter('send.sms.after_accept', (await client.sendSms(to, text)).id),
    };
  }
  if (twilio.accountSid && twilio.authToken && twilio.from) {
    const voice = new TwilioVoice({
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      from: twilio.from,
      baseUrl: twilio.baseUrl,
      timeoutMs,
    });
    channels.voice = {
      defaultRecipient: operatorPhone,
      addressKind: 'phone',
      service: 'twilio',
      send: async (to, text) => crashAfter('send.voice.after_accept', (await voice.placeCall(to, text)).sid),
    };
  }
  return recordingInDryRun(channels, configSecrets(config));
}

/** Each channel, in a dry run, records the message instead of sending it (activities/dry-run.ts). */
function recordingInDryRun(channels: Channels, secrets: readonly string[]): Channels {
  for (const [name, sender] of Object.entries(channels) as [Channel, ChannelSender][]) {
    const send = sender.send.bind(sender);
    channels[name] = { ...sender, send: async (to, text) => recordSendInDryRun(name, to, text, secrets) ?? send(to, text) };
  }
  return channels;
}

/** Which providers are configured, best first (opsctl status shows it). Builds clients only; no I/O. */
export function configuredChannels(config: Config, logger: Logger): Channel[] {
  return providerChannels(createChannels(config, logger));
}

/** The channels backed by a provider, i.e. all but `console`. */
export function providerChannels(channels: Channels): Channel[] {
  return (['voice', 'sms', 'telegram'] as const).filter((c) => channels[c] !== undefined);
}

/** An address as it may be shown: a phone keeps its last four digits. */
export function maskAddress(address: string): string {
  return /^\+\d+$/.test(address) ? `+…${address.slice(-4)}` : address;
}
