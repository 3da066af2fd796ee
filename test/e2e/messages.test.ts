/**
 * The daily digest, the morning call and alert delivery end to end: real workflows on the dev
 * server, the real channel clients against local fakes of Telegram, Salesmsg and Twilio.
 *
 * Every test sets up the state it needs (today's digest sent, earlier failed mornings on explicit
 * days) and counts messages relative to what it found, so any test passes alone and in any order.
 * The day is the one the job itself reports, never the test's own reading of the clock.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
// The proto types' 64-bit integers (Temporal's own dependency).
import Long from 'long';
import { createChannels } from '../../src/activities/channels';
import { createNotifier, type NotificationRequest } from '../../src/activities/notify';
import { createLogger } from '../../src/logger';
import { localDay } from '../../src/notifications/local-day';
import {
  beginSend,
  finishSend,
  getNotification,
  listAttempts,
  listDeadLetters,
  listIncidents,
  listNotifications,
  openNotification,
  raiseIncident,
} from '../../src/store';
import { OPERATOR_CHAT, OPERATOR_PHONE, startCommsFakes, type CommsFakes } from '../helpers/comms';
import { opsctlFor } from '../helpers/opsctl';
import { startSystem, type TestSystem } from '../helpers/system';

const PLANTED_HUBSPOT_TOKEN = 'pat-na1-planted-0000-1111-2222-333333333333';
const FAST_MESSAGES = { digest: { retryDelayMs: 1000 }, morningCall: { retryDelayMs: 1000 } };

async function bootWithComms(fakes: CommsFakes): Promise<TestSystem> {
  const sys = await startSystem({
    config: { ...fakes.config({ comms: FAST_MESSAGES }), sources: { hubspot: { token: PLANTED_HUBSPOT_TOKEN } } },
  });
  const who = { actor: 'test', reason: 'operator' };
  await sys.ops.allowlistAdd({ kind: 'phone', address: OPERATOR_PHONE, ...who });
  await sys.ops.allowlistAdd({ kind: 'telegram', address: OPERATOR_CHAT, ...who });
  return sys;
}

/** A system and the providers' fakes for one describe block; the getters work inside tests and hooks. */
function systemWithComms(): { fakes: () => CommsFakes; sys: () => TestSystem } {
  let fakes: CommsFakes | undefined;
  let sys: TestSystem | undefined;
  beforeAll(async () => {
    fakes = await startCommsFakes();
    sys = await bootWithComms(fakes);
  });
  afterAll(async () => {
    await sys?.close();
    await fakes?.close();
  });
  return { fakes: () => fakes!, sys: () => sys! };
}

function routerOf(sys: TestSystem) {
  const deps = { config: sys.config, store: sys.store, client: sys.client as Client, logger: createLogger('silent'), now: () => new Date() };
  return createNotifier(deps, createChannels(sys.config, deps.logger));
}

const alert = (key: string, severity: 'WARN' | 'INFO', title: string): NotificationRequest => ({
  idempotencyKey: key,
  severity,
  type: 'test_alert',
  title,
  body: 'details',
});

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

async function historyOf(sys: TestSystem, workflowId: string, runId?: string): Promise<HistoryEvent[]> {
  return (await sys.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
}

const scheduledActivity = (e: HistoryEvent) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? undefined;
const eventId = (e: HistoryEvent) => Number(e.eventId);

/** The activity's scheduled events in a history, each with whether it completed. */
function activityRuns(events: HistoryEvent[], name: string): { scheduledId: number; completed: boolean }[] {
  return events
    .filter((e) => scheduledActivity(e) === name)
    .map((e) => ({
      scheduledId: eventId(e),
      completed: events.some((c) => Number(c.activityTaskCompletedEventAttributes?.scheduledEventId ?? -1) === eventId(e)),
    }));
}

/** The local calendar day `days` before `day` ("YYYY-MM-DD"), by calendar arithmetic (no DST surprises). */
function daysBefore(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d - days)).toISOString().slice(0, 10);
}

/** Today's digest, sent by this run or found sent by an earlier one. */
async function digestSentToday(sys: TestSystem): Promise<void> {
  const result = await sys.ops.runJob('daily_digest');
  if (result.outcome === 'succeeded') return;
  expect(result).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/was already sent/) as string });
}

describe('the daily digest of a system that has done nothing yet', () => {
  // A system of its own: the figures and bullets below count everything the system ever did.
  const { fakes, sys } = systemWithComms();

  it('folds held alerts into at most 5 bullets, most important first, with no secret in it, and marks them delivered', async () => {
    const router = routerOf(sys());
    // Planted secrets: a configured token, the bot token, the allowlisted phone number.
    await router.route(alert('plant:1', 'WARN', `HubSpot rejected ${PLANTED_HUBSPOT_TOKEN}`));
    await router.route(alert('plant:2', 'INFO', `bot ${fakes().telegram.token} is rate limited`));
    await router.route(alert('plant:3', 'WARN', `could not call ${OPERATOR_PHONE} this morning`));
    for (let i = 0; i < 4; i++) await router.route(alert(`plant:info-${i}`, 'INFO', `routine note ${i}`));
    await raiseIncident(sys().store.db, { type: 'x', severity: 'WARN', title: 'counted', body: '', now: new Date() });

    const result = await sys().ops.runJob('daily_digest');
    expect(result).toMatchObject({ outcome: 'succeeded', output: { status: 'sent', channel: 'telegram', bullets: 5, heldDelivered: 7 } });
    expect(fakes().telegram.sent).toHaveLength(1);
    const [digest] = fakes().telegram.sent;
    expect(String(digest!.chatId)).toBe(OPERATOR_CHAT);
    const bullets = digest!.text.split('\n').filter((l) => l.startsWith('• '));
    expect(bullets).toHaveLength(5);
    // WARN before INFO.
    expect(bullets.slice(0, 2).every((b) => b.includes('[WARN]'))).toBe(true);
    expect(digest!.text).toContain('(+2 more');
    // Nothing ran or called a provider before this run; the one incident is the WARN planted above
    // (held alerts raise none, and INFO incidents would not count).
    expect(digest!.text).toContain('Runs: 0 (0 failed) · New incidents: 1 · API calls: 0');
    expect(digest!.text).toContain('No new proposals; nothing to approve.\nNo corrections applied.');
    for (const secret of [PLANTED_HUBSPOT_TOKEN, fakes().telegram.token, OPERATOR_PHONE]) expect(digest!.text).not.toContain(secret);
    expect(await listNotifications(sys().store.db, { status: 'held' })).toHaveLength(0);
    const { day } = result.output as { day: string };
    expect(day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect((await getNotification(sys().store.db, 'plant:1'))!.delivered_in).toBe(`daily_digest:${day}`);
  });
});

describe('the daily digest with no provider configured', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys.close();
  });

  it('goes to the console, and leaves the held alerts held for a digest a real channel sends, saying so', async () => {
    const held = await routerOf(sys).route(alert('console:1', 'WARN', 'n8n answered 502 three times'));
    expect(held).toMatchObject({ status: 'held' });

    const result = await sys.ops.runJob('daily_digest');
    expect(result).toMatchObject({ outcome: 'succeeded', output: { status: 'sent', channel: 'console', heldDelivered: 0, heldKept: 1 } });
    expect(await getNotification(sys.store.db, 'console:1')).toMatchObject({ status: 'held', delivered_in: null });
    const { day } = result.output as { day: string };
    const digest = await getNotification(sys.store.db, `daily_digest:${day}`);
    expect(digest!.body).toContain('[WARN] n8n answered 502 three times');
    expect(digest!.body).toContain('Console only (no provider configured): 1 held alert stays held for the first digest sent through a real channel.');
  });
});

describe('alerts raised while comms are off', () => {
  const { fakes, sys } = systemWithComms();

  it('wait, held, for the next digest that is actually sent', async () => {
    const who = { actor: 'test', reason: 'comms off' };
    await sys().ops.changeControls({ commsEnabled: false, ...who });
    try {
      expect(await routerOf(sys()).route(alert('comms-off:1', 'WARN', 'HubSpot sync failed 3 times in a row'))).toMatchObject({
        status: 'held',
      });
      // The digest itself is a message: not sent while comms are off, and the alert still waits.
      expect(await sys().ops.runJob('daily_digest')).toMatchObject({ outcome: 'skipped', reason: 'Comms are disabled' });
      expect(await getNotification(sys().store.db, 'comms-off:1')).toMatchObject({ status: 'held' });
    } finally {
      await sys().ops.changeControls({ commsEnabled: true, ...who });
    }
    const result = await sys().ops.runJob('daily_digest');
    expect(result).toMatchObject({ outcome: 'succeeded', output: { channel: 'telegram', heldDelivered: 1 } });
    expect(fakes().telegram.sent.at(-1)!.text).toContain('[WARN] HubSpot sync failed 3 times in a row');
    const { day } = result.output as { day: string };
    expect(await getNotification(sys().store.db, 'comms-off:1')).toMatchObject({ status: 'delivered', delivered_in: `daily_digest:${day}` });
  });
});

describe('the daily digest once it went out today', () => {
  const { fakes, sys } = systemWithComms();

  it('exactly one per day: a manual run the same day, and one after a worker restart, are skipped', async () => {
    await digestSentToday(sys());
    const sent = fakes().telegram.sent.length;
    const again = await sys().ops.runJob('daily_digest');
    expect(again.outcome).toBe('skipped');
    expect(again.reason).toMatch(/^Today's digest \(\d{4}-\d{2}-\d{2}\) was already sent/);
    await sys().stopWorker();
    await sys().startWorker();
    expect((await sys().ops.runJob('daily_digest')).outcome).toBe('skipped');
    expect(fakes().telegram.sent).toHaveLength(sent);
  });

  it('a reset to after prepareDigest re-executes sendDigest, and the idempotency key keeps it to one digest', async () => {
    await digestSentToday(sys());
    const sent = fakes().telegram.sent.length;
    const sendRequests = () => fakes().telegram.requests.filter((r) => r.path.endsWith('/sendMessage')).length;
    const requestsBefore = sendRequests();
    const first = (await listNotifications(sys().store.db, { limit: 100 })).find((n) => n.type === 'daily_digest')!;
    const workflowId = first.workflow_id!;
    // The run that sent it: the first of its workflow id (a reset by another test adds runs after it).
    const [started] = await historyOf(sys(), workflowId);
    const originalRunId = started!.workflowExecutionStartedEventAttributes!.firstExecutionRunId!;
    const original = await historyOf(sys(), workflowId, originalRunId);
    const sendAt = original.findIndex((e) => scheduledActivity(e) === 'sendDigest');
    expect(sendAt).toBeGreaterThan(0);
    // The workflow task whose commands scheduled sendDigest: the new run redoes it, with
    // prepareDigest's result (not sent yet) replayed from history.
    const resetTo = original.slice(0, sendAt).reverse().find((e) => e.workflowTaskCompletedEventAttributes)!;
    expect(activityRuns(original.slice(0, sendAt), 'prepareDigest')).toEqual([{ scheduledId: expect.any(Number) as number, completed: true }]);

    const { runId } = await sys().client.workflowService.resetWorkflowExecution({
      namespace: sys().config.temporal.namespace,
      workflowExecution: { workflowId, runId: originalRunId },
      workflowTaskFinishEventId: Long.fromNumber(eventId(resetTo)),
      requestId: `reset-send-${Date.now()}`,
      reason: 'test: replay the digest send',
    });
    const replayed = await sys().client.workflow.getHandle(workflowId, runId ?? undefined).result();
    expect(replayed).toMatchObject({ outcome: 'succeeded', output: { status: 'sent', channel: 'telegram' } });

    const reset = await historyOf(sys(), workflowId, runId ?? undefined);
    // prepareDigest ran once, before the reset point; sendDigest was scheduled and completed again after it.
    const prepares = activityRuns(reset, 'prepareDigest');
    expect(prepares).toHaveLength(1);
    expect(prepares[0]!.scheduledId).toBeLessThan(eventId(resetTo));
    const sends = activityRuns(reset, 'sendDigest');
    expect(sends).toHaveLength(1);
    expect(sends[0]!.scheduledId).toBeGreaterThan(eventId(resetTo));
    expect(sends[0]!.completed).toBe(true);
    // The router found the day's key settled and returned the first send's outcome.
    expect(fakes().telegram.sent).toHaveLength(sent);
    expect(sendRequests()).toBe(requestsBefore);
  });

  it('a reset to the first task re-runs the job from the start and stops at the already-sent check', async () => {
    await digestSentToday(sys());
    const sent = fakes().telegram.sent.length;
    const first = (await listNotifications(sys().store.db, { limit: 100 })).find((n) => n.type === 'daily_digest')!;
    // Event 3 is the first WorkflowTaskStarted: the new run replays nothing and runs every step again.
    const { runId } = await sys().client.workflowService.resetWorkflowExecution({
      namespace: sys().config.temporal.namespace,
      workflowExecution: { workflowId: first.workflow_id! },
      workflowTaskFinishEventId: Long.fromNumber(3),
      requestId: `reset-${Date.now()}`,
      reason: 'test: replay the digest',
    });
    const replayed = await sys().client.workflow.getHandle(first.workflow_id!, runId ?? undefined).result();
    expect(replayed).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/^Today's digest \(\d{4}-\d{2}-\d{2}\) was already sent/) as string });
    expect(activityRuns(await historyOf(sys(), first.workflow_id!, runId ?? undefined), 'sendDigest')).toEqual([]);
    expect(fakes().telegram.sent).toHaveLength(sent);
  });

  it('opsctl digest preview prints today\'s digest and sends nothing', async () => {
    await digestSentToday(sys());
    const opsctl = opsctlFor(sys(), { TELEGRAM_BOT_TOKEN: fakes().telegram.token, TELEGRAM_API_BASE: fakes().telegram.url });
    const before = fakes().received();
    const out = await opsctl('digest', 'preview');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('Daily digest for');
    expect(out.stdout).toContain("today's digest was already sent");
    const json = await opsctl('--json', 'digest', 'preview');
    expect(json.json()).toMatchObject({ metrics: { workflows_executed: expect.any(Number) as number, new_proposals: 0, corrections_applied: 0 } });
    expect(fakes().received()).toBe(before);
    const status = (await opsctl('--json', 'status')).json() as { comms: unknown };
    expect(status.comms).toEqual({ channels: ['telegram'], allowlisted: 2, held: 0 });
  });

  it('the morning call speaks a script of at most 60 s through Twilio, once a day', async () => {
    const calls = fakes().twilio.calls.length;
    const result = await sys().ops.runJob('morning_call');
    expect(result).toMatchObject({ outcome: 'succeeded', output: { via: 'voice', status: 'sent' } });
    expect(fakes().twilio.calls).toHaveLength(calls + 1);
    const call = fakes().twilio.calls.at(-1);
    expect(call!.to).toBe(OPERATOR_PHONE);
    expect(call!.text).toMatch(/^Good morning\./);
    expect(call!.text.split(/\s+/).length).toBeLessThanOrEqual(150);
    expect(call!.text).not.toContain(PLANTED_HUBSPOT_TOKEN);
    expect((await sys().ops.runJob('morning_call')).reason).toMatch(/already made/);
    expect(fakes().twilio.calls).toHaveLength(calls + 1);
  });
});

describe('when sending fails', () => {
  const { fakes, sys } = systemWithComms();

  it('the digest is retried once after the delay, then dead-lettered with an alert sent by SMS; a replay sends it once', async () => {
    const texts = fakes().telegram.sent.length;
    const requestsBefore = fakes().telegram.requests.length;
    fakes().telegram.fail({ status: 500, path: 'sendMessage' }, { status: 502, path: 'sendMessage' });
    const result = await sys().ops.runJob('daily_digest');
    expect(result).toMatchObject({ outcome: 'failed', category: 'transient' });
    const sends = fakes().telegram.requests.slice(requestsBefore).filter((r) => r.path.endsWith('/sendMessage'));
    expect(sends.map((r) => r.status)).toEqual([500, 502]);
    expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(950);
    const [digest] = await listNotifications(sys().store.db, { type: 'daily_digest', limit: 1 });
    expect(digest).toMatchObject({ status: 'failed', workflow_id: result.workflowId });
    expect((await listAttempts(sys().store.db, digest!.id)).map((a) => a.outcome)).toEqual(['failed', 'failed']);

    const letter = (await listDeadLetters(sys().store.db, {})).find((l) => l.workflow_id === result.workflowId);
    expect(letter).toMatchObject({ job: 'daily_digest', status: 'open' });
    const incident = (await listIncidents(sys().store.db)).find((i) => i.type === 'dead_letter')!;
    expect(incident.severity).toBe('SEV1');
    // SEV1 goes out now, by SMS, through its own delivery workflow.
    const sms = await vi.waitFor(
      () => {
        const found = fakes().salesmsg.sent.find((m) => m.message.includes('daily_digest failed'));
        if (!found) throw new Error('no SEV1 SMS yet');
        return found;
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(sms.to).toBe(OPERATOR_PHONE);
    expect(await sys().client.workflow.getHandle(`notify-incident-${incident.id}`).result()).toMatchObject({ status: 'sent', channel: 'sms' });

    const replay = await sys().ops.replayDeadLetter(letter!.id);
    expect(await sys().ops.jobResult(replay.workflowId)).toMatchObject({ outcome: 'succeeded', output: { status: 'sent' } });
    expect(fakes().telegram.sent).toHaveLength(texts + 1);
  });

  it('the call is retried once, then the script goes as a Telegram text; a third failed morning raises an alert', async () => {
    // Two earlier mornings whose calls failed, on the two calendar days before today (the test's
    // today: should the job's today be a day later, they are still the mornings before it).
    const today = localDay(new Date(), sys().config.timezone);
    for (const daysAgo of [2, 1]) {
      const day = daysBefore(today, daysAgo);
      const at = new Date(`${day}T12:00:00.000Z`);
      const row = await openNotification(sys().store.db, {
        idempotencyKey: `morning_call:${day}`,
        severity: 'INFO',
        type: 'morning_call',
        title: 'Morning Status Call',
        body: 'old',
        route: 'call',
        now: at,
      });
      const begun = await beginSend(sys().store.db, row.id, { channel: 'voice', recipient: OPERATOR_PHONE, now: at });
      if (begun.proceed) await finishSend(sys().store.db, row.id, begun.attemptId, { outcome: 'failed', error: 'busy', now: at });
    }
    fakes().twilio.fail({ status: 503 }, { status: 503 });
    const texts = fakes().telegram.sent.length;
    const callRequests = () => fakes().twilio.requests.filter((r) => r.path.endsWith('/Calls.json'));
    const callsBefore = callRequests().length;
    const result = await sys().ops.runJob('morning_call');
    expect(result).toMatchObject({ outcome: 'succeeded', output: { via: 'telegram', status: 'sent', failedMornings: 3 } });
    expect((result.output as { callError: string }).callError).toContain('503');
    expect(fakes().twilio.calls).toHaveLength(0);
    // One call, one retry after the configured delay (less a little timer slack), then the text.
    const attempts = callRequests().slice(callsBefore);
    expect(attempts.map((r) => r.status)).toEqual([503, 503]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(FAST_MESSAGES.morningCall.retryDelayMs - 50);
    expect(fakes().telegram.sent).toHaveLength(texts + 1);
    expect(fakes().telegram.sent.at(-1)!.text).toMatch(/^Good morning\./);
    const failing = (await listIncidents(sys().store.db)).find((i) => i.type === 'morning_call_failing');
    expect(failing).toMatchObject({ severity: 'SEV1', subject: 'morning_call', status: 'open', title: 'The morning call failed 3 mornings in a row' });
    await expect
      .poll(() => fakes().salesmsg.sent.some((m) => m.message.includes('3 mornings in a row')), { timeout: 15_000, interval: 200 })
      .toBe(true);
    expect((await sys().ops.runJob('morning_call')).reason).toMatch(/already made/);
  });
});

describe('opsctl allowlist', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys.close();
  });

  it('adds, lists and removes addresses; a removed one stays as history; bad input changes nothing', async () => {
    const opsctl = opsctlFor(sys);
    expect((await opsctl('allowlist', 'add', '+15557654321', '--reason', 'my phone', '--label', 'me')).stdout).toContain('allowlisted as a phone number');
    expect((await opsctl('allowlist', 'add', '+15557654321', '--reason', 'again')).stdout).toContain('already allowlisted');
    expect((await opsctl('allowlist', 'add', '987654', '--reason', 'my chat')).stdout).toContain('allowlisted as a Telegram chat id');
    const listed = (await opsctl('--json', 'allowlist', 'list')).json() as { address: string; added_by: string }[];
    expect(listed.map((r) => r.address)).toEqual(['+15557654321', '987654']);
    expect(listed[0]!.added_by).toBe('jonah');

    const bad = await opsctl('allowlist', 'add', '555-1234', '--reason', 'x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"555-1234" is not an address');
    const noReason = await opsctl('allowlist', 'add', '+15550000001');
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason');
    const notThere = await opsctl('allowlist', 'remove', '+15550000002', '--reason', 'x');
    expect(notThere.code).toBe(2);
    expect(notThere.stderr).toContain('is not on the allowlist');
    expect((await sys.ops.allowlist()).length).toBe(2);

    expect((await opsctl('allowlist', 'remove', '987654', '--reason', 'old chat')).code).toBe(0);
    expect((await sys.ops.allowlist()).map((r) => r.address)).toEqual(['+15557654321']);
    const all = (await opsctl('--json', 'allowlist', 'list', '--all')).json() as { address: string; removed_at: string | null }[];
    expect(all.find((r) => r.address === '987654')!.removed_at).not.toBeNull();
  });
});
