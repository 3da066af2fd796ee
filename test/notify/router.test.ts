/**
 * The router in-process against the providers' fakes, on SQLite and PostgreSQL: the routing
 * matrix, the allowlist, idempotency, and every attempt stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { createChannels } from '../../src/activities/channels';
import { createNotifier, type NotificationRequest } from '../../src/activities/notify';
import { configSchema, type Config } from '../../src/config';
import { initialControls } from '../../src/controls-initial';
import { createLogger } from '../../src/logger';
import {
  addToAllowlist,
  apiCallsSince,
  beginSend,
  finishSend,
  getNotification,
  listAttempts,
  listAudit,
  openNotification,
  removeFromAllowlist,
  saveControls,
  type Severity,
  type Store,
} from '../../src/store';
import { OPERATOR_CHAT, OPERATOR_PHONE, startCommsFakes, type CommsFakes } from '../helpers/comms';
import { forEachStore } from '../store/fixtures';

const NOW = new Date('2026-11-23T14:00:00.000Z');
let fakes: CommsFakes;

beforeAll(async () => {
  fakes = await startCommsFakes();
});
afterAll(async () => {
  await fakes.close();
});

function routerFor(store: Store, config: Config) {
  // Incident alerts that start delivery workflows are tested end to end; route() needs no Temporal.
  const deps = { config, store, client: undefined as unknown as Client, logger: createLogger('silent'), now: () => NOW };
  return createNotifier(deps, createChannels(config, deps.logger));
}

/**
 * The mirror never moves to an older version, so every write takes the next one: a test's
 * controls apply whichever tests ran before it.
 */
let version = 0;

async function setControls(store: Store, config: Config, flags: { commsEnabled: boolean; quiet: boolean; killSwitch?: boolean }) {
  version += 1;
  const base = await initialControls(config, store, NOW);
  const state = {
    ...base,
    killSwitch: flags.killSwitch ?? false,
    commsEnabled: flags.commsEnabled,
    quietHours: { enabled: flags.quiet, start: '00:00', end: '23:59', timeZone: 'America/Chicago' },
    version,
  };
  await saveControls(store.db, state as never, { actor: 'test', reason: 'matrix', change: flags });
}

const who = { actor: 'test', reason: 'matrix', now: NOW };
let keys = 0;
const request = (severity: Severity, extra: Partial<NotificationRequest> = {}): NotificationRequest => ({
  idempotencyKey: `test-wf:step-${++keys}`,
  severity,
  type: 'test_alert',
  title: `${severity} test alert #${keys}.`,
  body: 'something happened',
  workflowId: 'test-wf',
  ...extra,
});

forEachStore((store, dialect) => {
  let config: Config;
  beforeAll(() => {
    config = configSchema.parse(fakes.config());
  });

  describe('the routing matrix: 4 severities x quiet hours x comms x allowlisted', () => {
    const cases: [Severity, boolean, boolean, boolean][] = [];
    for (const severity of ['SEV0', 'SEV1', 'WARN', 'INFO'] as const)
      for (const quiet of [false, true]) for (const comms of [true, false]) for (const listed of [true, false]) cases.push([severity, quiet, comms, listed]);

    it.each(cases)('%s, quiet hours %s, comms %s, allowlisted %s', async (severity, quiet, comms, listed) => {
      await setControls(store(), config, { commsEnabled: comms, quiet });
      if (listed) {
        await addToAllowlist(store().db, { kind: 'phone', address: OPERATOR_PHONE, ...who });
        await addToAllowlist(store().db, { kind: 'telegram', address: OPERATOR_CHAT, ...who });
      } else {
        await removeFromAllowlist(store().db, { kind: 'phone', address: OPERATOR_PHONE, ...who });
        await removeFromAllowlist(store().db, { kind: 'telegram', address: OPERATOR_CHAT, ...who });
      }
      const before = { calls: fakes.twilio.calls.length, sms: fakes.salesmsg.sent.length, texts: fakes.telegram.sent.length };
      const outcome = await routerFor(store(), config).route(request(severity));

      // What waits for the digest is held whatever comms say: holding sends nothing, and the
      // next digest that is actually sent carries it.
      const expected =
        severity === 'WARN' || severity === 'INFO'
          ? { status: 'held', reason: 'held for the daily digest' }
          : !comms
            ? { status: 'suppressed', reason: 'Comms are disabled' }
            : listed
              ? { status: 'sent', channel: severity === 'SEV0' ? 'voice' : 'sms' }
              : { status: 'refused' };
      expect(outcome).toMatchObject(expected);
      const sentNow = outcome.status === 'sent';
      expect(fakes.twilio.calls.length - before.calls).toBe(sentNow && severity === 'SEV0' ? 1 : 0);
      expect(fakes.salesmsg.sent.length - before.sms).toBe(sentNow && severity === 'SEV1' ? 1 : 0);
      expect(fakes.telegram.sent.length - before.texts).toBe(0);
      if (sentNow) {
        const to = severity === 'SEV0' ? fakes.twilio.calls.at(-1)!.to : fakes.salesmsg.sent.at(-1)!.to;
        expect(to).toBe(OPERATOR_PHONE);
      }
      // Every decision is an attempt row with its outcome.
      const attempts = await listAttempts(store().db, outcome.id);
      expect(attempts).toHaveLength(1);
      expect(attempts[0]!.outcome).toBe(outcome.status);
    });
  });

  describe('allowlist, kill switch, idempotency', () => {
    beforeAll(async () => {
      await setControls(store(), config, { commsEnabled: true, quiet: false });
      await addToAllowlist(store().db, { kind: 'phone', address: OPERATOR_PHONE, ...who });
      await addToAllowlist(store().db, { kind: 'telegram', address: OPERATOR_CHAT, ...who });
    });

    it('a refused notification is audited, names the address masked, and sends nothing', async () => {
      const other = configSchema.parse({ ...fakes.config({ comms: { operatorPhone: '+15559990000' } }), telegram: {} });
      const before = fakes.received();
      const outcome = await routerFor(store(), other).route(request('SEV1'));
      expect(outcome.status).toBe('refused');
      expect(outcome.reason).toContain('+…0000 is not on the allowlist');
      expect(fakes.received()).toBe(before);
      const [audit] = await listAudit(store().db, { job: 'notification.refused', limit: 1 });
      expect(audit).toMatchObject({ action: 'notification.refused', success: 0 });
      expect(audit!.input_data).toContain(outcome.key);
    });

    it('the same key never sends twice: the second call returns the first outcome (and counts one API call)', async () => {
      const router = routerFor(store(), config);
      const req = request('SEV1');
      const calls = await apiCallsSince(store().db, NOW);
      const first = await router.route(req);
      const second = await router.route(req);
      expect(await apiCallsSince(store().db, NOW)).toBe(calls + 1);
      expect(first).toMatchObject({ status: 'sent', sentNow: true });
      expect(second).toMatchObject({ status: 'sent', sentNow: false, id: first.id, providerId: first.providerId });
      expect(fakes.salesmsg.sent.filter((m) => m.message.includes(req.title))).toHaveLength(1);
    });

    it('a failed send is stored and thrown; asking again retries and the message arrives once', async () => {
      const router = routerFor(store(), config);
      const req = request('SEV0');
      fakes.twilio.fail({ status: 503 });
      await expect(router.route(req)).rejects.toThrow(/Twilio answered HTTP 503/);
      expect((await getNotification(store().db, req.idempotencyKey))!.status).toBe('failed');
      const retried = await router.route(req);
      expect(retried).toMatchObject({ status: 'sent', sentNow: true });
      const attempts = await listAttempts(store().db, retried.id);
      expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'sent']);
      expect(attempts[0]!.detail).toContain('503');
      expect(fakes.twilio.calls.filter((c) => c.text.includes(req.title))).toHaveLength(1);
    });

    it('an attempt that never reported (its worker died mid-send) is not resent: it becomes unknown', async () => {
      const router = routerFor(store(), config);
      const req = request('SEV1');
      const row = await openNotification(store().db, { ...req, route: 'sms', now: NOW });
      await beginSend(store().db, row.id, { channel: 'sms', recipient: OPERATOR_PHONE, now: NOW });
      const before = fakes.received();
      const outcome = await router.route(req);
      expect(outcome.status).toBe('unknown');
      expect(outcome.reason).toMatch(/never reported/);
      expect(fakes.received()).toBe(before);
      expect((await router.route(req)).status).toBe('unknown');
      expect(fakes.received()).toBe(before);
    });

    it('a late report of the first attempt still wins: unknown becomes sent, and nothing is resent', async () => {
      const router = routerFor(store(), config);
      const req = request('SEV1');
      const row = await openNotification(store().db, { ...req, route: 'sms', now: NOW });
      const begun = await beginSend(store().db, row.id, { channel: 'sms', recipient: OPERATOR_PHONE, now: NOW });
      expect((await router.route(req)).status).toBe('unknown');
      if (!begun.proceed) throw new Error('the first attempt should have claimed the send');
      await finishSend(store().db, row.id, begun.attemptId, { outcome: 'sent', providerId: 'late-1', now: NOW });
      expect(await router.route(req)).toMatchObject({ status: 'sent', providerId: 'late-1', sentNow: false });
      expect((await listAttempts(store().db, row.id)).map((a) => a.outcome)).toEqual(['sent']);
    });

    it('a call goes by SMS when no voice provider is configured, and an SMS by Telegram when no SMS provider is', async () => {
      const noVoice = configSchema.parse(fakes.config({ comms: { twilio: {} } }));
      expect(await routerFor(store(), noVoice).route(request('SEV0'))).toMatchObject({ status: 'sent', channel: 'sms' });
      const textOnly = configSchema.parse(fakes.config({ comms: { twilio: {}, salesmsg: {} } }));
      expect(await routerFor(store(), textOnly).route(request('SEV1'))).toMatchObject({ status: 'sent', channel: 'telegram' });
      expect(String(fakes.telegram.sent.at(-1)!.chatId)).toBe(OPERATOR_CHAT);
    });

    it('with a provider configured, a message no configured channel carries is refused, not logged as sent', async () => {
      await setControls(store(), config, { commsEnabled: true, quiet: false });
      const noTelegram = configSchema.parse({ ...fakes.config(), telegram: {} });
      const before = fakes.received();
      const text = await routerFor(store(), noTelegram).route(request('SEV1', { deliver: 'text' }));
      expect(text).toMatchObject({ status: 'refused', channel: null });
      expect(text.reason).toMatch(/no configured channel carries a text .*configured: voice, sms/);
      const voiceOnly = configSchema.parse({ ...fakes.config({ comms: { salesmsg: {} } }), telegram: {} });
      const sms = await routerFor(store(), voiceOnly).route(request('SEV1'));
      expect(sms).toMatchObject({ status: 'refused' });
      expect(sms.reason).toMatch(/no configured channel carries a sms .*configured: voice\)/);
      expect(fakes.received()).toBe(before);
      expect((await listAttempts(store().db, sms.id)).map((a) => a.outcome)).toEqual(['refused']);
    });

    it('a send left in flight stays unsent whatever the controls say next: unknown, never suppressed and later resent', async () => {
      const router = routerFor(store(), config);
      const req = request('SEV1');
      const row = await openNotification(store().db, { ...req, route: 'sms', now: NOW });
      await beginSend(store().db, row.id, { channel: 'sms', recipient: OPERATOR_PHONE, now: NOW });
      await setControls(store(), config, { commsEnabled: false, quiet: false });
      const before = fakes.received();
      expect(await router.route(req)).toMatchObject({ status: 'unknown' });
      await setControls(store(), config, { commsEnabled: true, quiet: false });
      expect(await router.route(req)).toMatchObject({ status: 'unknown' });
      expect(fakes.received()).toBe(before);
      expect((await listAttempts(store().db, row.id)).map((a) => a.outcome)).toEqual(['unknown']);
    });

    it('the kill switch suppresses even SEV0, stored with the reason; the same key sends once it is off', async () => {
      await setControls(store(), config, { commsEnabled: true, quiet: false, killSwitch: true });
      const router = routerFor(store(), config);
      const req = request('SEV0');
      const before = fakes.received();
      expect(await router.route(req)).toMatchObject({ status: 'suppressed', reason: 'Kill switch is active' });
      expect(fakes.received()).toBe(before);
      await setControls(store(), config, { commsEnabled: true, quiet: false });
      expect(await router.route(req)).toMatchObject({ status: 'sent', channel: 'voice' });
      expect((await listAttempts(store().db, (await getNotification(store().db, req.idempotencyKey))!.id)).map((a) => a.outcome)).toEqual([
        'suppressed',
        'sent',
      ]);
    });

    it('a malformed request is refused naming the fields, and nothing is stored', async () => {
      const router = routerFor(store(), config);
      const bad = { idempotencyKey: 'bad:1', severity: 'SEV9', type: '', title: 'x', body: 'y' } as unknown as NotificationRequest;
      await expect(router.route(bad)).rejects.toThrow(/Invalid notification: severity: .*; type: /);
      expect(await getNotification(store().db, 'bad:1')).toBeUndefined();
    });

    it('with no provider configured, messages go to the console channel (the log)', async () => {
      const bare = configSchema.parse({});
      const outcome = await routerFor(store(), bare).route(request('SEV1'));
      expect(outcome).toMatchObject({ status: 'sent', channel: 'console', recipient: 'log' });
    });

    it(`credentials never leave in a message (${dialect})`, async () => {
      const router = routerFor(store(), config);
      const req = request('SEV1', { body: `request failed with ${fakes.telegram.token} and ${config.comms.twilio.authToken}` });
      expect(await router.route(req)).toMatchObject({ status: 'sent', channel: 'sms' });
      const sent = fakes.salesmsg.sent.at(-1)!.message;
      expect(sent).toContain('request failed with');
      expect(sent).not.toContain(fakes.telegram.token);
      expect(sent).not.toContain(config.comms.twilio.authToken!);
    });
  });
});
