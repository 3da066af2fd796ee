import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config';
import { DISPATCH_JITTER_SECONDS, keepSendTimes, paceDelayMs, pageRequestLimit, sourceTaskQueue, taskQueueRate } from '../../src/sources';

describe('taskQueueRate: the task-queue limit that keeps an API within its documented limit', () => {
  it('HubSpot, 100 requests per 10 s window: 9/s, whose burst of 9 plus 10 s of refill is 99', () => {
    const rate = taskQueueRate({ requests: 100, perSeconds: 10, shape: 'window' });
    expect(rate).toBe(9);
    expect(Math.ceil(rate) + rate * 10).toBeLessThanOrEqual(100);
  });

  it('any window: a full bucket plus a window and a jitter of refill never exceeds the window limit', () => {
    for (const [requests, perSeconds] of [[100, 10], [10, 1], [150, 10], [5, 60], [1, 1], [1000, 60]] as const) {
      const rate = taskQueueRate({ requests, perSeconds, shape: 'window' });
      expect(rate, `${requests}/${perSeconds}s`).toBeGreaterThan(0);
      // A full bucket (burst ceil(rate)) plus the whole tokens one window and a jitter refill.
      const refill = Math.floor(rate * (perSeconds + DISPATCH_JITTER_SECONDS));
      expect(Math.ceil(rate) + refill, `${requests}/${perSeconds}s`).toBeLessThanOrEqual(requests);
    }
  });

  it('Notion, 3 requests/s on average: the request after the burst has the jitter allowance to spare', () => {
    const rate = taskQueueRate({ requests: 3, perSeconds: 1, shape: 'average' });
    expect(rate).toBeCloseTo(2.6087, 3);
    // The server's burst is no bigger than the API's, and its spacing after it is wider by the allowance.
    expect(Math.ceil(rate)).toBe(3);
    expect(1 / rate - 1 / 3).toBeCloseTo(DISPATCH_JITTER_SECONDS, 6);
  });

  it('any average rate: the gap the server leaves exceeds the API\'s by the allowance, and its burst is no bigger', () => {
    for (const [requests, perSeconds] of [[3, 1], [5, 1], [1, 1], [10, 1], [100, 60]] as const) {
      const rate = taskQueueRate({ requests, perSeconds, shape: 'average' });
      const api = requests / perSeconds;
      expect(1 / rate - 1 / api, `${requests}/${perSeconds}s`).toBeCloseTo(DISPATCH_JITTER_SECONDS, 6);
      expect(Math.ceil(rate), `${requests}/${perSeconds}s`).toBeLessThanOrEqual(Math.ceil(api));
    }
  });

  it('each source has its own queue, named after the jobs queue', () => {
    expect(sourceTaskQueue('personal-ops-jobs', 'hubspot')).toBe('personal-ops-jobs.hubspot');
  });
});

describe('paceDelayMs: sync pages paced to an endpoint limit tighter than the queue holds', () => {
  const search = { requests: 5, perSeconds: 1, shape: 'window' as const };
  const jitterMs = DISPATCH_JITTER_SECONDS * 1000;

  it('a window of 5 per second: a burst of 5, then the request 5 back must be a second and a jitter ago', () => {
    expect(paceDelayMs(search, [], 10_000)).toBe(0);
    expect(paceDelayMs(search, [10_000, 10_010, 10_020, 10_030], 10_040)).toBe(0);
    expect(paceDelayMs(search, [10_000, 10_010, 10_020, 10_030, 10_040], 10_050)).toBe(1000 + jitterMs - 50);
    expect(paceDelayMs(search, [10_000, 10_010, 10_020, 10_030, 10_040], 12_000)).toBe(0);
  });

  it('sent as paced, no window of the limit ever holds more than its requests', () => {
    let sent: number[] = [];
    const all: number[] = [];
    let now = 0;
    for (let i = 0; i < 60; i++) {
      now += paceDelayMs(search, sent, now) + 7; // each request also takes a little time to go out
      sent = keepSendTimes(search, [...sent, now]);
      all.push(now);
    }
    for (const t of all) expect(all.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(5);
    // 60 requests at 5 per 1.05 s: about 12.6 s, against a floor of 12 s.
    expect(all.at(-1)! / 1000).toBeLessThan(13);
  });

  it('an average rate: 1/R and a jitter after the one before', () => {
    const notion = { requests: 3, perSeconds: 1, shape: 'average' as const };
    expect(paceDelayMs(notion, [1000], 1000)).toBeCloseTo(1000 / 3 + jitterMs, 6);
    expect(keepSendTimes(notion, [1, 2, 3, 4])).toEqual([2, 3, 4]);
  });

  it('HubSpot pages are paced to the search limit; the other sources need nothing beyond their queue', () => {
    const config = configSchema.parse({});
    expect(pageRequestLimit(config, 'hubspot')).toEqual(search);
    expect(config.sources.hubspot.pageSize).toBe(200);
    for (const source of ['notion', 'n8n', 'chat'] as const) expect(pageRequestLimit(config, source)).toBeUndefined();
  });
});
