/**
 * A worker process that SIGKILLs itself at a named crash point (src/activities/crash-points.ts),
 * then a fresh worker without it finishes the run. On SQLite and on PostgreSQL:
 * - sync: every item stored exactly once, and the API asked for each page exactly as often as
 *   the crash point allows (the page in flight once more after the fetch; never after the commit);
 * - sync, after the commit of a page that raised incidents: each is still alerted, once;
 * - send: the provider got exactly one request, and the notification is `unknown` (the router's
 *   at-most-once design: never resent, never silently lost), also in the run's output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRASH_POINTS } from '../../src/activities/crash-points';
import { countMemoryItems, getSourceSync, listAttempts, listIncidents, listMemoryItems, listNotifications } from '../../src/store';
import { HubSpotFake, N8nFake } from '../fakes';
import { OPERATOR_CHAT, OPERATOR_PHONE, startCommsFakes, type CommsFakes } from '../helpers/comms';
import { startSystem, type TestSystem } from '../helpers/system';
import { runRefusedWorker, spawnCrashWorker, workerConfig, type CrashWorker } from '../helpers/crash-worker';

const DIALECTS = ['sqlite', 'postgres'] as const;
const CONTACTS = 500;
const PAGES = 5;
/** The crash lands on the third page: two committed before it, two after. */
const SKIP = 2;
const KILLED_IN = 60_000;
const TEST_TIMEOUT = 180_000;

describe('crash point settings', () => {
  it('an unknown crash point name refuses the worker start, naming the known ones', async () => {
    const sys = await startSystem({ startWorker: false });
    try {
      const refused = await runRefusedWorker(sys.config, 'typo', { point: 'sync.after_fetch' });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('Invalid crash point settings');
      expect(refused.stderr).toContain('sync.after_fetch_before_commit');
    } finally {
      await sys.close();
    }
  }, TEST_TIMEOUT);
});

for (const dialect of DIALECTS) {
  describe(`sync crash points on ${dialect}`, () => {
    for (const point of ['sync.after_fetch_before_commit', 'sync.after_commit_before_complete'] as const) {
      describe(point, () => {
        const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(CONTACTS), rateLimit: false });
        let sys: TestSystem;
        let worker: CrashWorker | undefined;

        beforeAll(async () => {
          const url = await hubspot.start();
          // A page attempt lost with its worker is retried after pageTimeoutMs.
          sys = await startSystem({
            dialect,
            startWorker: false,
            config: { sources: { pageTimeoutMs: 3_000, hubspot: { token: hubspot.token, baseUrl: url, pageSize: 100 } } },
          });
        });
        afterAll(async () => {
          await worker?.kill();
          await sys.close();
          await hubspot.close();
        });

        it('the worker dies there; a fresh worker finishes: each contact stored once, each page committed once', async () => {
          worker = await spawnCrashWorker(workerConfig(sys.config, sys.store), `crash-${dialect}`, { point, skip: SKIP });
          const { workflowId } = await sys.ops.startJob('sync_hubspot');
          const exit = await within(worker.exited, KILLED_IN, 'the armed worker did not reach its crash point');
          expect(exit.signal).toBe('SIGKILL');
          expect(worker.stderr()).toContain(`crash point ${point}`);

          const atCrash = (await getSourceSync(sys.store.db, 'hubspot'))!;
          expect(atCrash.status).toBe('running');
          // After the fetch: the third page is not committed. After the commit: it is.
          const committed = point === 'sync.after_fetch_before_commit' ? SKIP : SKIP + 1;
          expect(atCrash.run_pages).toBe(committed);
          expect(await countMemoryItems(sys.store.db, 'hubspot')).toEqual({ current: committed * 100, all: committed * 100 });
          expect(hubspot.requests.length).toBe(SKIP + 1);

          await sys.startWorker();
          const result = await sys.ops.jobResult(workflowId);
          expect(result).toMatchObject({ outcome: 'succeeded', output: { pages: PAGES, items: CONTACTS } });

          // The store: every contact once, in its first version.
          expect(await countMemoryItems(sys.store.db, 'hubspot')).toEqual({ current: CONTACTS, all: CONTACTS });
          const items = await listMemoryItems(sys.store.db, { sourceType: 'hubspot' });
          expect(new Set(items.map((i) => i.key)).size).toBe(CONTACTS);
          expect(items.every((i) => i.version === 1)).toBe(true);
          expect(await getSourceSync(sys.store.db, 'hubspot')).toMatchObject({
            status: 'idle',
            cursor: null,
            pages_synced: PAGES,
            items_synced: CONTACTS,
          });
          // The fake: each page served once, plus the page in flight at a crash before its commit.
          // A commit that wrote the items without the cursor would show here as a page fetched again.
          const pages = hubspot.requests.map((r) => JSON.stringify((r.body as { filterGroups?: unknown }).filterGroups));
          const counts = new Map<string, number>();
          for (const p of pages) counts.set(p, (counts.get(p) ?? 0) + 1);
          expect(counts.size).toBe(PAGES);
          expect(hubspot.requests.length).toBe(point === 'sync.after_fetch_before_commit' ? PAGES + 1 : PAGES);
        }, TEST_TIMEOUT);
      });
    }
  });

  describe(`incidents of a page whose worker died right after its commit, on ${dialect}`, () => {
    const n8n = new N8nFake({ rateLimit: false });
    const FAILING = ['wf-billing', 'wf-crm', 'wf-invoices', 'wf-leads', 'wf-backup'];
    let sys: TestSystem;
    let worker: CrashWorker | undefined;

    beforeAll(async () => {
      const url = await n8n.start();
      const recent = new Date(Date.now() - 10 * 60_000).toISOString();
      for (const wf of FAILING) n8n.addFailures(wf, 4, recent);
      for (const wf of ['wf-ok-1', 'wf-ok-2']) n8n.addFailures(wf, 2, recent);
      // 24 executions, 5 a page: the fifth page is the last, and raises the incidents.
      sys = await startSystem({
        dialect,
        startWorker: false,
        config: { sources: { pageTimeoutMs: 3_000, n8n: { baseUrl: url, apiKey: n8n.apiKey, pageSize: 5 } } },
      });
    });
    afterAll(async () => {
      await worker?.kill();
      await sys.close();
      await n8n.close();
    });

    it('are still alerted: the retried page finds the run done and routes the incident whose alert was lost, and none the hourly window kept quiet', async () => {
      worker = await spawnCrashWorker(workerConfig(sys.config, sys.store), `alerts-${dialect}`, { point: 'sync.after_commit_before_complete', skip: 4 });
      const { workflowId } = await sys.ops.startJob('sync_n8n');
      const exit = await within(worker.exited, KILLED_IN, 'the armed worker did not reach its crash point');
      expect(exit.signal).toBe('SIGKILL');
      const incidents = (await listIncidents(sys.store.db, { limit: 50 })).filter((i) => i.type === 'n8n_workflow_failures');
      expect(incidents).toHaveLength(FAILING.length);
      expect(await listNotifications(sys.store.db, { limit: 50 })).toHaveLength(0);

      await sys.startWorker();
      expect(await sys.ops.jobResult(workflowId)).toMatchObject({ outcome: 'succeeded' });
      const notifications = await listNotifications(sys.store.db, { limit: 50 });
      // One alert for the type this hour (WARN waits for the digest); the others were recorded with
      // the reason they were not alerted, and the sweep leaves them so.
      const alerted = incidents.filter((i) => i.alert_withheld === null);
      expect(alerted).toHaveLength(1);
      expect(incidents.filter((i) => i.alert_withheld?.includes('alerted within the hour'))).toHaveLength(FAILING.length - 1);
      expect(notifications.map((n) => n.idempotency_key)).toEqual([`incident:${alerted[0]!.id}`]);
      expect(notifications.every((n) => n.status === 'held')).toBe(true);
      expect((await listIncidents(sys.store.db, { limit: 50 })).filter((i) => i.type === 'n8n_workflow_failures')).toHaveLength(FAILING.length);
      expect(n8n.requests.length).toBe(5);
    }, TEST_TIMEOUT);
  });

  describe(`send crash points on ${dialect}`, () => {
    const CHANNEL_OF = {
      'send.voice.after_accept': 'voice',
      'send.sms.after_accept': 'sms',
      'send.telegram.after_accept': 'telegram',
      'send.console.after_accept': 'console',
    } as const;
    for (const point of CRASH_POINTS.filter((p): p is keyof typeof CHANNEL_OF => p.startsWith('send.'))) {
      const channel = CHANNEL_OF[point];
      describe(point, () => {
        let fakes: CommsFakes;
        let sys: TestSystem;
        let worker: CrashWorker | undefined;
        const received = (): number =>
          ({ voice: fakes.twilio.calls.length, sms: fakes.salesmsg.sent.length, telegram: fakes.telegram.sent.length, console: 0 })[channel];
        const requests = (): number =>
          ({ voice: fakes.twilio.requests.length, sms: fakes.salesmsg.requests.length, telegram: fakes.telegram.requests.length, console: 0 })[channel];

        beforeAll(async () => {
          fakes = await startCommsFakes();
          sys = await startSystem({ dialect, startWorker: false, config: commsConfigFor(channel, fakes) });
          const who = { actor: 'test', reason: 'operator' };
          await sys.ops.allowlistAdd({ kind: 'phone', address: OPERATOR_PHONE, ...who });
          await sys.ops.allowlistAdd({ kind: 'telegram', address: OPERATOR_CHAT, ...who });
        });
        afterAll(async () => {
          await worker?.kill();
          await sys.close();
          await fakes.close();
        });

        it(`the ${channel} provider accepted the morning call, then the worker died: sent once, recorded unknown, never resent`, async () => {
          worker = await spawnCrashWorker(workerConfig(sys.config, sys.store), `send-${dialect}`, { point });
          const { workflowId } = await sys.ops.startJob('morning_call');
          const exit = await within(worker.exited, KILLED_IN, 'the armed worker did not reach its crash point');
          expect(exit.signal).toBe('SIGKILL');
          expect(worker.stderr()).toContain(`crash point ${point}`);
          if (channel !== 'console') expect(received()).toBe(1);
          const [inFlight] = await listNotifications(sys.store.db, { type: 'morning_call', limit: 10 });
          expect(inFlight).toMatchObject({ status: 'sending', channel });

          await sys.startWorker();
          const result = await sys.ops.jobResult(workflowId);
          // The retried activity finds the send left in flight and settles it, visibly, as unknown.
          expect(result).toMatchObject({ outcome: 'succeeded', output: { via: channel, status: 'unknown' } });

          if (channel !== 'console') {
            expect(received()).toBe(1);
            expect(requests()).toBe(1);
          }
          expect(fakes.received()).toBe(channel === 'console' ? 0 : 1);
          const notifications = await listNotifications(sys.store.db, { limit: 10 });
          expect(notifications).toHaveLength(1);
          expect(notifications[0]).toMatchObject({ type: 'morning_call', status: 'unknown', channel, attempts: 1 });
          expect(notifications[0]!.status_reason).toContain('never reported');
          const attempts = await listAttempts(sys.store.db, notifications[0]!.id);
          expect(attempts.map((a) => a.outcome)).toEqual(['unknown']);
        }, TEST_TIMEOUT);
      });
    }
  });
}

/** Only the channel under test is configured (none at all for the console). */
function commsConfigFor(channel: 'voice' | 'sms' | 'telegram' | 'console', fakes: CommsFakes): Record<string, unknown> {
  const all = fakes.config();
  const comms = all.comms as { salesmsg: unknown; twilio: unknown; operatorPhone: string };
  const base = { sendTimeoutMs: 2_000, morningCall: { retryDelayMs: 500 } };
  switch (channel) {
    case 'voice':
      return { comms: { ...base, operatorPhone: comms.operatorPhone, twilio: comms.twilio } };
    case 'sms':
      return { comms: { ...base, operatorPhone: comms.operatorPhone, salesmsg: comms.salesmsg } };
    case 'telegram':
      return { telegram: all.telegram, comms: base };
    case 'console':
      return { comms: base };
  }
}

async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

