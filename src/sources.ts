/**
 * The data sources the syncs read. Pure data and arithmetic: workflows, activities, worker and
 * CLI all import it.
 */
import type { Config, RateLimit } from './config';

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

/**
 * The limit of the endpoint a sync page calls, when it is tighter than the API's general one
 * (which the source's task queue holds). HubSpot's pages are CRM searches: 5 per second.
 */
export function pageRequestLimit(config: Config, source: SourceName): RateLimit | undefined {
  return source === 'hubspot' ? config.sources.hubspot.searchRateLimit : undefined;
}

/**
 * How long a request must wait so that it keeps `limit`, given when the requests before it were
 * sent (oldest first). Pages of a sync run one after another under the source's lease, so these
 * are all the requests to that endpoint. A window of N per W: the request N back must be W
 * (plus DISPATCH_JITTER_SECONDS) ago, so a burst of N is allowed and the rate is N / (W + jitter).
 * An average rate R: 1/R + jitter after the one before.
 */
export function paceDelayMs(limit: RateLimit, sentAtMs: readonly number[], nowMs: number): number {
  const jitterMs = DISPATCH_JITTER_SECONDS * 1000;
  if (limit.shape === 'window') {
    const ref = sentAtMs.length >= limit.requests ? sentAtMs[sentAtMs.length - limit.requests] : undefined;
    return ref === undefined ? 0 : Math.max(0, ref + limit.perSeconds * 1000 + jitterMs - nowMs);
  }
  const last = sentAtMs.at(-1);
  return last === undefined ? 0 : Math.max(0, last + (limit.perSeconds * 1000) / limit.requests + jitterMs - nowMs);
}

/** The send times paceDelayMs needs to keep: the last `requests` of them. */
export function keepSendTimes(limit: RateLimit, sentAtMs: readonly number[]): number[] {
  return sentAtMs.slice(-Math.max(1, Math.min(limit.requests, 100)));
}
