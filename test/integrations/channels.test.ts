/**
 * The outbound message channels against their fakes: what a send puts on the wire, and every
 * failure mapped to its spec category (401 auth, 429 with Retry-After, 5xx and timeouts transient,
 * a malformed body or a bad argument validation), with no secret in any error message.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuthError, ExternalApiError, TransientError, ValidationError, type OpsError } from '../../src/errors';
import { SalesmsgClient, type SalesmsgSettings } from '../../src/integrations/salesmsg';
import { TelegramBot, type TelegramSettings } from '../../src/integrations/telegram';
import { TwilioVoice, type TwilioSettings } from '../../src/integrations/twilio';
import { SALESMSG_MESSAGES_PATH, SalesmsgFake, TelegramFake, TwilioFake, isRecord, type HttpFake } from '../fakes';
import { freePort } from '../helpers/ports';
import { configSchema } from '../../src/config';
import { createChannels } from '../../src/activities/channels';
import { createLogger } from '../../src/logger';

// The wire and the error mapping, not the limits: the clients send to one chat back to back.
const telegramFake = new TelegramFake({ rateLimit: false, perChatPerSecond: false });
const salesmsgFake = new SalesmsgFake({ rateLimit: false });
const twilioFake = new TwilioFake();
const fakes: HttpFake[] = [telegramFake, salesmsgFake, twilioFake];

const PHONE = '+15551234567';
const FROM = '+15557654321';
/** Characters XML and JSON both care about, and some that only a careless encoder breaks. */
const TRICKY = `Disk at 95% & rising: <db-1> says "it's full" > 3 times; ünïcode ✓\nsecond line`;

let telegram: (overrides?: Partial<TelegramSettings>) => TelegramBot;
let salesmsg: (overrides?: Partial<SalesmsgSettings>) => SalesmsgClient;
let twilio: (overrides?: Partial<TwilioSettings>) => TwilioVoice;
/** A port nothing listens on. */
let deadPort: number;

beforeAll(async () => {
  const [telegramUrl, , twilioUrl] = await Promise.all(fakes.map((f) => f.start()));
  telegram = (o = {}) => new TelegramBot({ botToken: telegramFake.token, apiBase: telegramUrl!, timeoutMs: 5000, ...o });
  salesmsg = (o = {}) => new SalesmsgClient({ token: salesmsgFake.token, baseUrl: salesmsgFake.apiBase, timeoutMs: 5000, ...o });
  twilio = (o = {}) =>
    new TwilioVoice({ accountSid: twilioFake.accountSid, authToken: twilioFake.authToken, from: FROM, baseUrl: twilioUrl!, timeoutMs: 5000, ...o });
  deadPort = await freePort();
});

afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

interface Channel {
  name: string;
  fake: HttpFake;
  /** The credential that must never show in an error message. */
  secret: string;
  /** A valid send with a client built from the overrides. */
  send(overrides?: Record<string, unknown>): Promise<unknown>;
  /** Overrides that make the credentials wrong (the wrong value must not leak either). */
  wrongCredentials: Record<string, string>;
  /** Overrides that point the client at a port nothing listens on. */
  unreachable(): Record<string, string>;
  /** Where a malformed success body's error must point. */
  field: RegExp;
}

const channels: Channel[] = [
  {
    name: 'Telegram sendMessage',
    fake: telegramFake,
    secret: telegramFake.token,
    send: (o) => telegram(o).sendMessage('42', 'ping'),
    wrongCredentials: { botToken: '999:WRONG-TOKEN-SECRET' },
    unreachable: () => ({ apiBase: `http://127.0.0.1:${deadPort}` }),
    field: /validation: result\.message_id:/,
  },
  {
    name: 'Salesmsg sendSms',
    fake: salesmsgFake,
    secret: salesmsgFake.token,
    send: (o) => salesmsg(o).sendSms(PHONE, 'ping'),
    wrongCredentials: { token: 'wrong-salesmsg-token-secret' },
    unreachable: () => ({ baseUrl: `http://127.0.0.1:${deadPort}/pub/v2.1` }),
    field: /validation: id:/,
  },
  {
    name: 'Twilio placeCall',
    fake: twilioFake,
    secret: twilioFake.authToken,
    send: (o) => twilio(o).placeCall(PHONE, 'ping'),
    wrongCredentials: { authToken: 'wrong-twilio-auth-token-secret' },
    unreachable: () => ({ baseUrl: `http://127.0.0.1:${deadPort}` }),
    field: /validation: sid:/,
  },
];

const each = (title: string, test: (c: Channel) => Promise<void>) =>
  it.each(channels.map((c) => c.name))(`%s: ${title}`, async (name) => {
    const c = channels.find((x) => x.name === name)!;
    c.fake.clearFaults();
    await test(c);
  });

/** The error a call fails with; it must be an OpsError whose message holds none of the secrets. */
async function failure(call: () => Promise<unknown>, ...secrets: string[]): Promise<OpsError> {
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error('expected a failure');
  const allSecrets = [telegramFake.token, salesmsgFake.token, twilioFake.authToken, ...secrets];
  for (const secret of allSecrets) expect(err.message).not.toContain(secret);
  return err as OpsError;
}

function lastRequest(fake: HttpFake) {
  const req = fake.requests[fake.requests.length - 1];
  if (!req) throw new Error('the fake saw no request');
  return req;
}

describe('Telegram sendMessage', () => {
  it('posts chat_id and text as JSON and returns the message id', async () => {
    const before = telegramFake.sent.length;
    const first = await telegram().sendMessage('42', TRICKY);
    const second = await telegram().sendMessage('-1001234567890', 'second');
    expect(second.messageId).toBe(first.messageId + 1);
    expect(telegramFake.sent.slice(before)).toEqual([
      { chatId: 42, text: TRICKY },
      { chatId: -1001234567890, text: 'second' },
    ]);
    const req = lastRequest(telegramFake);
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/bot${telegramFake.token}/sendMessage`);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.body).toEqual({ chat_id: '-1001234567890', text: 'second' });
  });

  it('sends exactly 4096 characters', async () => {
    await telegram().sendMessage('42', 'x'.repeat(4096));
    expect(telegramFake.sent[telegramFake.sent.length - 1]?.text).toHaveLength(4096);
  });

  it('rejects text over 4096 characters, or empty, before any request', async () => {
    const requests = telegramFake.requests.length;
    const long = await failure(() => telegram().sendMessage('42', 'x'.repeat(4097)));
    expect(long).toBeInstanceOf(ValidationError);
    expect(long.message).toMatch(/4097/);
    expect(long.message).toMatch(/4096/);
    expect(await failure(() => telegram().sendMessage('42', '  \n'))).toBeInstanceOf(ValidationError);
    expect(telegramFake.requests.length).toBe(requests);
  });
});

describe('Salesmsg sendSms', () => {
  it('posts to, message and number_id as JSON with the bearer token and returns the id', async () => {
    const before = salesmsgFake.sent.length;
    const { id } = await salesmsg({ numberId: '77' }).sendSms(PHONE, TRICKY);
    expect(id).toMatch(/^\d+$/);
    const next = await salesmsg().sendSms('+447700900123', 'no number');
    expect(Number(next.id)).toBe(Number(id) + 1);
    expect(salesmsgFake.sent.slice(before)).toEqual([
      { to: PHONE, message: TRICKY, numberId: '77' },
      { to: '+447700900123', message: 'no number' },
    ]);
    const [withNumber, without] = salesmsgFake.requests.slice(-2);
    expect(withNumber?.body).toEqual({ to: PHONE, message: TRICKY, number_id: '77' });
    expect(without?.body).toEqual({ to: '+447700900123', message: 'no number' });
    expect(without?.method).toBe('POST');
    expect(without?.path).toBe(SALESMSG_MESSAGES_PATH);
    expect(without?.headers).toMatchObject({
      authorization: `Bearer ${salesmsgFake.token}`,
      'content-type': 'application/json',
      accept: 'application/json',
    });
  });

  it('turns its 400 field errors into the message', async () => {
    salesmsgFake.fail({ status: 400, body: { message: 'The given data was invalid.', errors: { to: ['The to is not a mobile number.'] } } });
    const err = await failure(() => salesmsg().sendSms(PHONE, 'ping'));
    expect(err).toBeInstanceOf(ExternalApiError);
    expect((err as ExternalApiError).status).toBe(400);
    expect(err.message).toBe('Salesmsg answered HTTP 400: The given data was invalid. (to: The to is not a mobile number.)');
  });

  it('meets its default rate limit (10/s) as a 429 with Retry-After', async () => {
    const limited = new SalesmsgFake();
    try {
      const client = new SalesmsgClient({ token: limited.token, baseUrl: `${await limited.start()}/pub/v2.1`, timeoutMs: 5000 });
      const results = await Promise.allSettled(Array.from({ length: 15 }, (_, i) => client.sendSms(PHONE, `burst ${i}`)));
      const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as OpsError] : []));
      expect(limited.sent.length).toBeGreaterThanOrEqual(10);
      expect(limited.sent.length + rejected.length).toBe(15);
      expect(rejected.length).toBe(limited.rateLimited);
      expect(rejected.length).toBeGreaterThan(0);
      for (const err of rejected) {
        expect(err).toBeInstanceOf(ExternalApiError);
        expect(err.retryAfterMs).toBe(1000);
      }
    } finally {
      await limited.close();
    }
  });
});

describe('Twilio placeCall', () => {
  it('posts To, From and escaped TwiML, form-encoded with Basic auth, and the text round-trips', async () => {
    const before = twilioFake.calls.length;
    const { sid } = await twilio().placeCall(PHONE, TRICKY);
    expect(sid).toMatch(/^CA[0-9a-f]{32}$/);
    const call = twilioFake.calls[before];
    expect(call).toEqual({
      to: PHONE,
      from: FROM,
      twiml:
        '<Response><Say voice="Polly.Joanna">Disk at 95% &amp; rising: &lt;db-1&gt; says &quot;it&apos;s full&quot; &gt; 3 times; ' +
        'ünïcode ✓\nsecond line</Say></Response>',
      text: TRICKY,
    });
    const req = lastRequest(twilioFake);
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/2010-04-01/Accounts/${twilioFake.accountSid}/Calls.json`);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from(`${twilioFake.accountSid}:${twilioFake.authToken}`).toString('base64')}`);
    expect(req.body).toEqual({ To: PHONE, From: FROM, Twiml: call?.twiml });
  });

  it('uses the configured voice, escaped, and returns a new sid per call', async () => {
    const first = await twilio({ voice: 'alice' }).placeCall(PHONE, 'one');
    const second = await twilio({ voice: 'Polly.Amy"' }).placeCall(PHONE, 'two');
    expect(second.sid).not.toBe(first.sid);
    expect(twilioFake.calls.slice(-2).map((c) => c.twiml)).toEqual([
      '<Response><Say voice="alice">one</Say></Response>',
      '<Response><Say voice="Polly.Amy&quot;">two</Say></Response>',
    ]);
  });

  it("rejects TwiML over Twilio's 4000 characters before any request", async () => {
    const requests = twilioFake.requests.length;
    // Each & becomes &amp;: 800 of them are 4000 characters of TwiML before the wrapper.
    const err = await failure(() => twilio().placeCall(PHONE, '&'.repeat(800)));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/4000/);
    expect(await failure(() => twilio().placeCall(PHONE, ' '))).toBeInstanceOf(ValidationError);
    expect(twilioFake.requests.length).toBe(requests);
  });

  it("turns Twilio's error body into the message with its code", async () => {
    const err = await failure(() => twilio({ from: '' }).placeCall(PHONE, 'ping'));
    expect(err).toBeInstanceOf(ExternalApiError);
    expect((err as ExternalApiError).status).toBe(400);
    expect(err.message).toBe("Twilio answered HTTP 400: No 'From' number is specified (Twilio error 21213)");
  });
});

describe('channels against their fakes: failures', () => {
  each('wrong credentials are an auth error (401)', async (c) => {
    const requests = c.fake.requests.length;
    const wrong = Object.values(c.wrongCredentials)[0]!;
    const err = await failure(() => c.send(c.wrongCredentials), wrong);
    expect(err).toBeInstanceOf(AuthError);
    expect(err.message).toMatch(/HTTP 401/);
    expect(c.fake.requests.length).toBe(requests + 1);
    expect(lastRequest(c.fake).status).toBe(401);
  });

  each('an injected 403 is an auth error', async (c) => {
    c.fake.fail({ status: 403 });
    expect(await failure(() => c.send())).toBeInstanceOf(AuthError);
  });

  each('429 is a rate limit that carries its Retry-After', async (c) => {
    c.fake.fail({ status: 429, retryAfterSeconds: 7 });
    const err = await failure(() => c.send());
    expect(err).toBeInstanceOf(ExternalApiError);
    expect((err as ExternalApiError).status).toBe(429);
    expect(err.retryAfterMs).toBe(7000);
  });

  each('503 is transient', async (c) => {
    c.fake.fail({ status: 503 });
    const err = await failure(() => c.send());
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(/HTTP 503/);
  });

  each('a timeout is transient', async (c) => {
    c.fake.fail({ delayMs: 300 });
    const err = await failure(() => c.send({ timeoutMs: 50 }));
    expect(err).toBeInstanceOf(TransientError);
    // The fake still handles the abandoned request once the delay is over: let it, so later counts hold.
    const req = lastRequest(c.fake);
    await vi.waitFor(() => expect(req.status).toBeDefined(), { timeout: 2000 });
  });

  each('an unreachable server is transient', async (c) => {
    const err = await failure(() => c.send(c.unreachable()));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(/unreachable/);
  });

  each('a malformed success body is a validation error naming the field', async (c) => {
    c.fake.fail({ malformed: true });
    const err = await failure(() => c.send());
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(c.field);
  });

  it.each([
    ['Salesmsg', () => salesmsgFake, (secret: string) => ({ message: `Invalid token ${secret}` })],
    ['Twilio', () => twilioFake, (secret: string) => ({ code: 20003, message: `Bad credentials for ${secret}`, status: 400 })],
  ] as const)('%s: a secret echoed in an error body is redacted', async (name, fake, body) => {
    const c = channels.find((x) => x.name.startsWith(name))!;
    fake().fail({ status: 400, body: body(c.secret) });
    const err = await failure(() => c.send());
    expect(err).toBeInstanceOf(ExternalApiError);
    expect(err.message).toMatch(/\[redacted\]/);
  });

  it.each(['0612345678', '+0612345678', '+1 555 123 4567', '+12345', '+1234567890123456', '', `${PHONE}\n`])(
    'an invalid phone number %j is a validation error before any request',
    async (to) => {
      const before = [salesmsgFake.requests.length, twilioFake.requests.length];
      const sms = await failure(() => salesmsg().sendSms(to, 'ping'));
      const call = await failure(() => twilio().placeCall(to, 'ping'));
      for (const err of [sms, call]) {
        expect(err).toBeInstanceOf(ValidationError);
        expect(err.message).toMatch(/E\.164/);
      }
      expect([salesmsgFake.requests.length, twilioFake.requests.length]).toEqual(before);
    },
  );
});

describe('the fakes check what the clients rely on', () => {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const twilioPost = async (accountSid: string, body: string) => {
    const res = await fetch(`${twilioFake.url}/2010-04-01/Accounts/${accountSid}/Calls.json`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${twilioFake.accountSid}:${twilioFake.authToken}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body,
    });
    return { status: res.status, json: (await res.json()) as unknown };
  };

  it('Twilio: another account is 404, missing fields and unescaped TwiML are 400 with their codes', async () => {
    const calls = twilioFake.calls.length;
    const ok = { To: PHONE, From: FROM, Twiml: '<Response><Say>hi</Say></Response>' };
    expect(await twilioPost('AC00000000000000000000000000000000', form(ok))).toMatchObject({ status: 404, json: { code: 20404, status: 404 } });
    expect(await twilioPost(twilioFake.accountSid, form({ ...ok, To: '' }))).toMatchObject({ status: 400, json: { code: 21201 } });
    expect(await twilioPost(twilioFake.accountSid, form({ ...ok, From: '' }))).toMatchObject({ status: 400, json: { code: 21213 } });
    expect(await twilioPost(twilioFake.accountSid, form({ ...ok, Twiml: '' }))).toMatchObject({ status: 400, json: { code: 21205 } });
    const raw = { ...ok, Twiml: '<Response><Say>a & b < c</Say></Response>' };
    expect(await twilioPost(twilioFake.accountSid, form(raw))).toMatchObject({ status: 400, json: { code: 12100 } });
    expect(twilioFake.calls.length).toBe(calls);
    const created = await twilioPost(twilioFake.accountSid, form(ok));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ status: 'queued', to: PHONE, from: FROM, account_sid: twilioFake.accountSid });
    expect(isRecord(created.json) && String(created.json.sid)).toMatch(/^CA[0-9a-f]{32}$/);
    expect(twilioFake.calls[calls]).toEqual({ to: PHONE, from: FROM, twiml: ok.Twiml, text: 'hi' });
  });

  it('Salesmsg: a missing or invalid to, or an empty message, is 400 naming the field', async () => {
    const sent = salesmsgFake.sent.length;
    const post = async (body: unknown) => {
      const res = await fetch(`${salesmsgFake.apiBase}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${salesmsgFake.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as unknown };
    };
    expect(await post({ message: 'hi' })).toMatchObject({ status: 400, json: { errors: { to: [expect.any(String)] } } });
    expect(await post({ to: '555-1234', message: 'hi' })).toMatchObject({ status: 400, json: { errors: { to: [expect.any(String)] } } });
    expect(await post({ to: PHONE, message: ' ' })).toMatchObject({ status: 400, json: { errors: { message: [expect.any(String)] } } });
    expect(salesmsgFake.sent.length).toBe(sent);
  });
});

describe('the Telegram channel keeps to one message a second per chat', () => {
  it('two messages to one chat, back to back: both delivered, a second apart, no 429', async () => {
    const fake = new TelegramFake({ rateLimit: false });
    const url = await fake.start();
    try {
      const config = configSchema.parse({ telegram: { botToken: fake.token, apiBase: url, chatId: '4242' } });
      const channels = createChannels(config, createLogger('silent'));
      await channels.telegram!.send('4242', 'first');
      await channels.telegram!.send('4242', 'second');
      expect(fake.sent.map((m) => m.text)).toEqual(['first', 'second']);
      expect(fake.perChatRateLimited).toBe(0);
      const [a, b] = fake.requests.filter((r) => r.path.endsWith('/sendMessage')).map((r) => r.at);
      expect(b! - a!).toBeGreaterThanOrEqual(1000);
    } finally {
      await fake.close();
    }
  });
});

