/** The three message providers' fakes, and the config that points personal-ops at them. */
import { SalesmsgFake, TelegramFake, TwilioFake } from '../fakes';

export const OPERATOR_PHONE = '+15551230000';
export const OPERATOR_CHAT = '424242';
export const TWILIO_FROM = '+15550009999';

export interface CommsFakes {
  telegram: TelegramFake;
  salesmsg: SalesmsgFake;
  twilio: TwilioFake;
  /** Config keys (telegram, comms) for these fakes; merge into a test system's config. */
  config(overrides?: { comms?: Record<string, unknown> }): { telegram: Record<string, unknown>; comms: Record<string, unknown> };
  /** Messages and calls the operator received, all providers together. */
  received(): number;
  close(): Promise<void>;
}

export async function startCommsFakes(): Promise<CommsFakes> {
  const telegram = new TelegramFake({ rateLimit: false });
  const salesmsg = new SalesmsgFake({ rateLimit: false });
  const twilio = new TwilioFake();
  await Promise.all([telegram.start(), salesmsg.start(), twilio.start()]);
  return {
    telegram,
    salesmsg,
    twilio,
    config: (overrides = {}) => ({
      telegram: { botToken: telegram.token, apiBase: telegram.url, chatId: OPERATOR_CHAT },
      comms: {
        operatorPhone: OPERATOR_PHONE,
        salesmsg: { token: salesmsg.token, baseUrl: salesmsg.apiBase },
        twilio: { accountSid: twilio.accountSid, authToken: twilio.authToken, from: TWILIO_FROM, baseUrl: twilio.url },
        sendTimeoutMs: 2000,
        ...overrides.comms,
      },
    }),
    received: () => telegram.sent.length + salesmsg.sent.length + twilio.calls.length,
    close: async () => {
      await Promise.all([telegram.close(), salesmsg.close(), twilio.close()]);
    },
  };
}
