/**
 * The data sources the syncs read. Pure data and arithmetic: workflows, activities, worker and
 * CLI all import it.
 */
import type { RateLimit } from './config';

export const SOURCE_NAMES = ['notion', 'n8n', 'hubspot', 'chat'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

/** Each rate-limited API has its own task queue, so its limit holds across every worker process. */
export function sourceTaskQueue(jobsTaskQueue: string, source: SourceName): string {
  return `${jobsTaskQueue}.${source}`;
}

/**
 * How much sooner than the server's spacing one request may reach its API after the request
 * before it (worker event-loop and GC pauses, the network). The server's limiter refills its
 * bucket from the moment it dispatches; the API's, from the moment a request arrives.
 */
export const DISPATCH_JITTER_SECONDS = 0.05;

/**
 * The maxTaskQueueActivitiesPerSecond that keeps one page per activity within an API's limit,
 * with DISPATCH_JITTER_SECONDS of slack. Temporal's task-queue limiter is a token bucket whose
 * burst is ceil(rate), full whenever the queue has been idle.
 * - Against an average rate R (itself a bucket, burst ceil(R)): the first request past the burst
 *   is the tight one. Dispatched 1/r after the one before, it must arrive at least 1/R after it,
 *   so 1/r = 1/R + jitter. Later requests only gain slack.
 * - Against a window of N requests per W seconds: a full bucket plus the refill of W seconds
 *   and the jitter must fit, ceil(r) + r * (W + jitter) <= N.
 */
export function taskQueueRate(limit: RateLimit): number {
  const perSecond = limit.requests / limit.perSeconds;
  const withJitter = perSecond / (1 + perSecond * DISPATCH_JITTER_SECONDS);
  if (limit.shape === 'average') return withJitter;
  for (let burst = Math.ceil(perSecond); burst >= 1; burst--) {
    const rate = Math.min(burst, (limit.requests - burst) / (limit.perSeconds + DISPATCH_JITTER_SECONDS));
    if (rate > burst - 1) return rate;
  }
  // One request per window: a bucket of one, spaced two jitters wider than the window, so no
  // two ever arrive within one window.
  return 1 / (limit.perSeconds + 2 * DISPATCH_JITTER_SECONDS);
}
