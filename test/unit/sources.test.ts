import { describe, expect, it } from 'vitest';
import { DISPATCH_JITTER_SECONDS, sourceTaskQueue, taskQueueRate } from '../../src/sources';

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
