/**
 * run_watchers' four watchers on SQLite and PostgreSQL, each just below and just above its
 * threshold (the spec's defaults), through an injected clock: every window ends at `now`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { expect, it } from 'vitest';
import { costAnomalies } from '../../src/activities/watchers/cost-anomalies';
import { performanceDegradation } from '../../src/activities/watchers/performance';
import { limitUse, rateLimits } from '../../src/activities/watchers/rate-limits';
import { repeatedFailures } from '../../src/activities/watchers/repeated-failures';
import type { Watcher, WatcherContext } from '../../src/activities/watchers/types';
import { configSchema } from '../../src/config';
import { createLogger } from '../../src/logger';
import { insertAudit, type Store } from '../../src/store';
import { countApiCall, countApiFailure } from '../../src/store/api-calls';
import { QueryTimings } from '../../src/store/timing';
import { DAY, forEachStore } from './fixtures';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** Each test works in a day of its own, so the shared store's rows never meet in one window. */
const dayOf = (n: number) => new Date(Date.UTC(2026, 0, 1 + n * 30, 12, 0, 0));
const config = configSchema.parse({ dataDir: mkdtempSync(join(tmpdir(), 'ops-watchers-')) });

forEachStore((store, dialect) => {
  const ctx = (now: Date, over: Partial<WatcherContext> = {}): WatcherContext => ({
    db: store().db,
    config,
    now,
    client: undefined as unknown as Client,
    logger: createLogger('silent'),
    store: store(),
    ...over,
  });
  const check = (w: Watcher, now: Date, over?: Partial<WatcherContext>) => w.check(ctx(now, over));

  const failRun = (job: string, at: Date) =>
    insertAudit(store().db, { ts: at.toISOString(), action: job, action_type: 'system', success: 0, outcome: 'failed', error: 'boom' });
  const failSend = (channel: 'telegram' | 'sms', at: Date, attempt: number) =>
    store()
      .db.insertInto('notification_attempts')
      .values({ notification_id: 1, attempt, started_at: at.toISOString(), channel, outcome: 'failed' })
      .execute();

  it('7.1 repeated failures of a job: 2 in 30 min is nothing, 3 is WARN; a failure 31 min back does not count', async () => {
    const now = dayOf(1);
    await failRun('sync_notion', new Date(now.getTime() - 31 * MIN));
    await failRun('sync_notion', new Date(now.getTime() - 20 * MIN));
    await failRun('sync_notion', new Date(now.getTime() - 10 * MIN));
    // A succeeded run and another job's failure are other actions.
    await insertAudit(store().db, { ts: new Date(now.getTime() - 5 * MIN).toISOString(), action: 'sync_notion', action_type: 'system', success: 1, outcome: 'succeeded' });
    await failRun('sync_n8n', new Date(now.getTime() - 5 * MIN));
    expect((await check(repeatedFailures, now)).findings).toEqual([]);
    await failRun('sync_notion', new Date(now.getTime() - 1 * MIN));
    const { findings } = await check(repeatedFailures, now);
    expect(findings).toEqual([expect.objectContaining({ subject: 'job:sync_notion', severity: 'WARN', job: 'sync_notion', title: 'sync_notion failed 3 times in the last 30 min' })]);
    // 30 minutes on, two of the three have left the window.
    expect((await check(repeatedFailures, new Date(now.getTime() + 20 * MIN))).findings).toEqual([]);
  });

  it('7.1 repeated failures of an API endpoint (429s included) and of a message channel', async () => {
    const now = dayOf(2);
    const at = (m: number) => new Date(now.getTime() - m * MIN);
    await countApiCall(store().db, 'hubspot', at(9), { failed: true });
    await countApiFailure(store().db, 'hubspot', at(8), { throttled: true });
    await failSend('telegram', at(7), 1);
    await failSend('telegram', at(6), 2);
    expect((await check(repeatedFailures, now)).findings).toEqual([]);
    await countApiFailure(store().db, 'hubspot', at(2), {});
    await failSend('telegram', at(1), 3);
    const { findings } = await check(repeatedFailures, now);
    expect(findings.map((f) => [f.subject, f.severity])).toEqual([
      ['endpoint:hubspot', 'WARN'],
      ['send:telegram', 'WARN'],
    ]);
    expect(findings[0]!.body).toContain('1 of them HTTP 429');
  });

  it('7.2 rate limits: HubSpot (100 per 10 s) at 79 requests in its busiest 10 s is nothing, 80 INFO, 95 WARN', async () => {
    const now = dayOf(3);
    const bucketStart = Math.floor(now.getTime() / 10_000) * 10_000 - 60_000;
    const put = async (n: number) => {
      for (let i = 0; i < n; i++) await countApiCall(store().db, 'hubspot', new Date(bucketStart + (i % 10) * 1000));
    };
    await put(79);
    const below = await check(rateLimits, now);
    expect(below.findings).toEqual([]);
    expect(below.summary).toContain('busiest: hubspot at 79%');
    await put(1);
    expect((await check(rateLimits, now)).findings).toEqual([expect.objectContaining({ subject: 'api:hubspot', severity: 'INFO', title: 'hubspot at 80% of its rate limit' })]);
    await put(15);
    expect((await check(rateLimits, now)).findings).toEqual([expect.objectContaining({ subject: 'api:hubspot', severity: 'WARN', title: 'hubspot at 95% of its rate limit' })]);
    // Out of the 5-minute window, the same bucket says nothing.
    expect((await check(rateLimits, new Date(now.getTime() + 5 * MIN))).findings).toEqual([]);
  });

  it('7.2 rate limits: a single 429 is WARN, even from a service with no documented limit', async () => {
    const now = dayOf(4);
    await countApiCall(store().db, 'telegram', new Date(now.getTime() - MIN));
    expect((await check(rateLimits, now)).findings).toEqual([]);
    await countApiFailure(store().db, 'telegram', new Date(now.getTime() - MIN), { throttled: true });
    expect((await check(rateLimits, now)).findings).toEqual([
      expect.objectContaining({ subject: 'api:telegram', severity: 'WARN', title: 'telegram answered HTTP 429 once in the last 5 min' }),
    ]);
  });

  it('7.3 cost anomalies: +199% is nothing, +200% INFO, +500% WARN; under minCalls or without 3 days of history, nothing', async () => {
    const now = dayOf(5);
    const put = async (service: string, calls: number, hourEnd: Date) => {
      // Spread over the hour ending at hourEnd, as a real day's calls would be.
      for (let i = 0; i < calls; i++) await countApiCall(store().db, service, new Date(hourEnd.getTime() - 1000 - ((i * 37_000) % (HOUR - 2000))));
    };
    // Baseline: 20 calls in this hour on each of the last 3 days (7 asked, 3 recorded).
    for (const d of [1, 2, 3]) await put('notion', 20, new Date(now.getTime() - d * DAY));
    await put('notion', 59, now);
    expect((await check(costAnomalies, now)).findings).toEqual([]);
    await put('notion', 1, now);
    expect((await check(costAnomalies, now)).findings).toEqual([expect.objectContaining({ subject: 'api:notion', severity: 'INFO' })]);
    await put('notion', 59, now);
    expect((await check(costAnomalies, now)).findings).toEqual([expect.objectContaining({ subject: 'api:notion', severity: 'INFO' })]);
    await put('notion', 1, now);
    const warn = await check(costAnomalies, now);
    expect(warn.findings).toEqual([expect.objectContaining({ subject: 'api:notion', severity: 'WARN', title: expect.stringContaining('120 API calls in the last hour, up 500%') })]);
    // Only 2 days of history: the same +200% is not judged yet.
    for (const d of [1, 2]) await put('n8n', 20, new Date(now.getTime() - d * DAY));
    await put('n8n', 60, now);
    // No baseline at all, and 49 calls (minCalls 50): nothing either.
    await put('chat', 49, now);
    const partial = await check(costAnomalies, now);
    expect(partial.findings.map((f) => f.subject)).toEqual(['api:notion']);
    expect(partial.summary).toContain('collecting a baseline: n8n (2 of 3 days)');
  });

  it('7.4 performance: a mean of 1000 ms is nothing, over it WARN; too few samples, nothing', async () => {
    const now = dayOf(6);
    const timing = new QueryTimings(100);
    const slowStore: Store = { ...store(), timing };
    for (let i = 0; i < 19; i++) timing.record(2000, now.getTime() - i * 1000);
    expect((await check(performanceDegradation, now, { store: slowStore })).findings).toEqual([]);
    const t2 = new QueryTimings(100);
    for (let i = 0; i < 20; i++) t2.record(1000, now.getTime() - i * 1000);
    expect((await check(performanceDegradation, now, { store: { ...store(), timing: t2 } })).findings).toEqual([]);
    t2.record(1021, now.getTime());
    expect((await check(performanceDegradation, now, { store: { ...store(), timing: t2 } })).findings).toEqual([
      expect.objectContaining({ subject: `store:${dialect}`, severity: 'WARN', title: 'Store queries slow: mean 1001 ms over 5 min' }),
    ]);
    // Samples older than the window do not count.
    expect((await check(performanceDegradation, new Date(now.getTime() + 6 * MIN), { store: { ...store(), timing: t2 } })).findings).toEqual([]);
  });

  it('7.4 the store times its real queries (Kysely log hook) into its ring', async () => {
    const before = store().timing.size;
    await store().db.selectFrom('incidents').select('id').limit(1).execute();
    expect(store().timing.size).toBeGreaterThan(before);
    const recent = store().timing.summary(Date.now() - MIN, Date.now() + 1000);
    expect(recent.samples).toBeGreaterThan(0);
  });
});

it('limitUse: an average limit (3/s) is judged on minute buckets, a window limit on its own', () => {
  const limits = { notion: { requests: 3, perSeconds: 1, shape: 'average' as const }, hubspot: { requests: 100, perSeconds: 10, shape: 'window' as const } };
  const burst = Array.from({ length: 10 }, (_, i) => ({ atSecond: 6000 + i, service: 'notion', endpoint: '', requests: i === 0 ? 10 : 0, throttled: 0, failed: 0 }));
  // 10 requests in one second is a burst the bucket allows: 10 of 180 a minute.
  expect(limitUse(burst, limits)[0]!.peakPercent).toBeCloseTo((10 / 180) * 100);
  const hub = [{ atSecond: 6000, service: 'hubspot', endpoint: '', requests: 50, throttled: 0, failed: 0 }, { atSecond: 6011, service: 'hubspot', endpoint: '', requests: 60, throttled: 0, failed: 0 }];
  expect(limitUse(hub, limits)[0]!.peakPercent).toBe(60);
});

it('QueryTimings keeps only its capacity, oldest dropped first', () => {
  const t = new QueryTimings(3);
  for (const [at, ms] of [[1, 100], [2, 200], [3, 300], [4, 400]] as const) t.record(ms, at);
  expect(t.size).toBe(3);
  expect(t.summary(0, 10)).toEqual({ samples: 3, meanMs: 300, maxMs: 400 });
  expect(() => new QueryTimings(0)).toThrow('capacity must be a positive integer');
});
