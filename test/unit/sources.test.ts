import { describe, expect, it } from 'vitest';
import { sourceTaskQueue, taskQueueRate } from '../../src/sources';

describe('taskQueueRate: the task-queue limit that keeps an API within its documented limit', () => {
  it('HubSpot, 100 requests per 10 s window: 9/s, whose burst of 9 plus 10 s of refill is 99', () => {
    const rate = taskQueueRate({ requests: 100, perSeconds: 10, shape: 'window' });
    expect(rate).toBe(9);
    expect(Math.ceil(rate) + rate * 10).toBeLessThanOrEqual(100);
  });

  it('any window: a full bucket plus one window of refill never exceeds the window limit', () => {
    for (const [requests, perSeconds] of [[100, 10], [10, 1], [150, 10], [5, 60], [1, 1], [1000, 60]] as const) {
      const rate = taskQueueRate({ requests, perSeconds, shape: 'window' });
      expect(rate, `${requests}/${perSeconds}s`).toBeGreaterThan(0);
      // A full bucket (burst ceil(rate)) plus the whole tokens one window refills.
      expect(Math.ceil(rate) + Math.floor(rate * perSeconds), `${requests}/${perSeconds}s`).toBeLessThanOrEqual(requests);
    }
  });

  it('Notion, 3 requests/s on average: the same bucket, 5% under for network jitter', () => {
    expect(taskQueueRate({ requests: 3, perSeconds: 1, shape: 'average' })).toBeCloseTo(2.85);
  });

  it('each source has its own queue, named after the jobs queue', () => {
    expect(sourceTaskQueue('personal-ops-jobs', 'hubspot')).toBe('personal-ops-jobs.hubspot');
  });
});
