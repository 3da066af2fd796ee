/**
 * Without Temporal or a store: a webhook whose secret is not configured is not registered (and
 * the log says so at start), and HubSpot's URI rule (some escapes decoded before signing).
 */
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { OpsClient } from '../../src/client';
import { configSchema } from '../../src/config';
import { registerWebhooks } from '../../src/http/webhooks';
import { hubspotSignedUri, verifyHubSpotRequest } from '../../src/http/webhooks/hubspot-signature';

async function appWith(config: Record<string, unknown>) {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => { lines.push(chunk.toString()); done(); } }));
  const app = Fastify();
  // Never reached: a route that is off touches neither Temporal nor the store.
  const ops = {} as OpsClient;
  await app.register(async (scope) => registerWebhooks(scope, { config: configSchema.parse(config), ops, logger }));
  await app.ready();
  return { app, messages: lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

describe('webhook routes off without their secrets', () => {
  it('no secrets: neither route exists, and the log names the missing settings', async () => {
    const { app, messages } = await appWith({});
    for (const url of ['/v1/webhooks/hubspot', '/v1/webhooks/telegram']) {
      expect((await app.inject({ method: 'POST', url, payload: '[]', headers: { 'content-type': 'application/json' } })).statusCode).toBe(404);
    }
    expect(messages).toEqual(['HubSpot webhook off: HUBSPOT_CLIENT_SECRET is not set', 'Telegram webhook off: TELEGRAM_WEBHOOK_SECRET and TELEGRAM_CHAT_ID not set']);
    await app.close();
  });

  it('a Telegram secret without the operator chat: off (it could not tell whose messages to keep)', async () => {
    const { app, messages } = await appWith({ webhooks: { telegram: { secretToken: 'abc' } } });
    expect(messages).toContain('Telegram webhook off: TELEGRAM_CHAT_ID not set');
    expect((await app.inject({ method: 'POST', url: '/v1/webhooks/telegram', payload: '{}', headers: { 'content-type': 'application/json' } })).statusCode).toBe(404);
    await app.close();
  });

  it('both configured: both on, said so', async () => {
    const { app, messages } = await appWith({ webhooks: { hubspot: { clientSecret: 's' }, telegram: { secretToken: 'abc' } }, telegram: { chatId: '1' } });
    expect(messages).toEqual(['HubSpot webhook on', 'Telegram webhook on']);
    // On, and refusing an unsigned request.
    expect((await app.inject({ method: 'POST', url: '/v1/webhooks/hubspot', payload: '[]', headers: { 'content-type': 'application/json' } })).statusCode).toBe(401);
    await app.close();
  });
});

describe("HubSpot's signed URI", () => {
  it('decodes the escapes HubSpot lists (: / ? @ ! $ \' ( ) * , ;) and keeps the others', () => {
    expect(hubspotSignedUri('https://h/p?u=a%3Ab%2Fc%3Fd%40e%21f%24g%27h%28i%29j%2Ak%2Cl%3Bm&s=%20%26')).toBe("https://h/p?u=a:b/c?d@e!f$g'h(i)j*k,l;m&s=%20%26");
    expect(hubspotSignedUri('https://h/p?u=%3a')).toBe('https://h/p?u=:');
  });

  it('a request to a URI with escapes verifies against the decoded URI, as HubSpot signs it', () => {
    const secret = 'secret';
    const timestamp = String(Date.now());
    const body = Buffer.from('[{"objectId":1}]');
    const signature = createHmac('sha256', secret).update(`POSThttps://h/p?portal=1:2${body.toString()}${timestamp}`).digest('base64');
    const verdict = verifyHubSpotRequest(secret, { method: 'POST', uri: 'https://h/p?portal=1%3A2', body, signature, timestamp }, { nowMs: Date.now(), maxAgeSeconds: 300 });
    expect(verdict.ok).toBe(true);
    const tampered = verifyHubSpotRequest(secret, { method: 'POST', uri: 'https://h/p?portal=1%3A3', body, signature, timestamp }, { nowMs: Date.now(), maxAgeSeconds: 300 });
    expect(tampered).toEqual({ ok: false, reason: 'signature does not match' });
  });

  it('the age limit is the configured one, and a little clock skew ahead is tolerated', () => {
    const secret = 'secret';
    const body = Buffer.from('[]');
    const now = Date.parse('2026-06-01T12:00:00Z');
    const at = (ms: number) => {
      const timestamp = String(ms);
      const signature = createHmac('sha256', secret).update(`POSThttps://h/p[]${timestamp}`).digest('base64');
      return verifyHubSpotRequest(secret, { method: 'POST', uri: 'https://h/p', body, signature, timestamp }, { nowMs: now, maxAgeSeconds: 300 });
    };
    expect(at(now - 299_000).ok).toBe(true);
    expect(at(now - 301_000)).toEqual({ ok: false, reason: 'request timestamp is older than 300 s' });
    expect(at(now + 30_000).ok).toBe(true);
    expect(at(now + 61_000)).toEqual({ ok: false, reason: 'request timestamp is in the future' });
  });
});
