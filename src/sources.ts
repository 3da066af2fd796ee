/**
 * The data sources the syncs read. Pure data and arithmetic: workflows, activities, worker and
 * CLI all import it.
 */
export const SOURCE_NAMES = ['notion', 'n8n', 'hubspot', 'chat'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

export function isSourceName(value: string): value is SourceName {
  return (SOURCE_NAMES as readonly string[]).includes(value);
}

/** Each rate-limited API has its own task queue, so its limit holds across every worker process. */
export function sourceTaskQueue(jobsTaskQueue: string, source: SourceName): string {
  return `${jobsTaskQueue}.${source}`;
}

export interface ApiRateLimit {
  requests: number;
  perSeconds: number;
  shape: 'average' | 'window';
}

/** Headroom under an average-rate limit for network jitter between the server's dispatch and the API. */
export const AVERAGE_RATE_MARGIN = 0.95;

/**
 * The maxTaskQueueActivitiesPerSecond that keeps one page per activity within an API's limit.
 * Temporal's task-queue limiter is a token bucket whose burst is ceil(rate). Against an average
 * rate (itself a bucket) that is the same shape, less a margin. Against a window of N requests
 * per W seconds, a full bucket plus W seconds of refill must fit: ceil(r) + r*W <= N.
 */
export function taskQueueRate(limit: ApiRateLimit): number {
  const perSecond = limit.requests / limit.perSeconds;
  if (limit.shape === 'average') return perSecond * AVERAGE_RATE_MARGIN;
  for (let burst = Math.ceil(perSecond); burst >= 1; burst--) {
    const rate = Math.min(burst, (limit.requests - burst) / limit.perSeconds);
    if (rate > burst - 1) return rate;
  }
  // One request per window: a bucket of one, refilled a little slower than the window.
  return (limit.requests / limit.perSeconds) * AVERAGE_RATE_MARGIN;
}
