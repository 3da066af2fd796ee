/**
 * Spec 7.2: each API's use of its documented limit (config.sources.*.rateLimit) over the window,
 * from the requests api-calls.ts records per second: INFO at infoPercent, WARN at warnPercent or
 * at any 429 (of any service, limit documented or not).
 *
 * Use is the busiest bucket of the window against what the limit allows in a bucket. A `window`
 * limit (HubSpot: 100 per 10 s) is measured on buckets of its own length; an `average` limit
 * (Notion: 3/s, bursts allowed) on minute buckets, since a burst above the rate is allowed and
 * only a sustained rate uses the bucket up. Buckets are aligned to the epoch, so a peak that
 * straddles two is seen split (under-counted, never over-counted).
 */
import type { RateLimit } from '../../config';
import { SOURCE_NAMES } from '../../sources';
import { apiSecondsBetween, type ApiSecond } from '../../store/api-calls';
import type { Watcher, WatcherFinding } from './types';
import { minutesBefore, percentText } from './window';

const AVERAGE_BUCKET_SECONDS = 60;

export interface LimitUse {
  service: string;
  requests: number;
  throttled: number;
  /** The busiest bucket's share of what the limit allows, in percent (undefined: no documented limit). */
  peakPercent?: number;
}

export function bucketSeconds(limit: RateLimit): number {
  return limit.shape === 'window' ? limit.perSeconds : Math.max(limit.perSeconds, AVERAGE_BUCKET_SECONDS);
}

/** The use of each service seen in `seconds` (pure: tested on its own and used by the watcher). */
export function limitUse(seconds: readonly ApiSecond[], limits: Readonly<Record<string, RateLimit>>): LimitUse[] {
  const byService = new Map<string, { requests: number; throttled: number; buckets: Map<number, number> }>();
  for (const s of seconds) {
    const entry = byService.get(s.service) ?? { requests: 0, throttled: 0, buckets: new Map<number, number>() };
    entry.requests += s.requests;
    entry.throttled += s.throttled;
    const limit = limits[s.service];
    if (limit) {
      const bucket = Math.floor(s.atSecond / bucketSeconds(limit));
      entry.buckets.set(bucket, (entry.buckets.get(bucket) ?? 0) + s.requests);
    }
    byService.set(s.service, entry);
  }
  return [...byService].map(([service, e]) => {
    const limit = limits[service];
    if (!limit) return { service, requests: e.requests, throttled: e.throttled };
    const allowed = (limit.requests * bucketSeconds(limit)) / limit.perSeconds;
    const peak = Math.max(0, ...e.buckets.values());
    return { service, requests: e.requests, throttled: e.throttled, peakPercent: (peak / allowed) * 100 };
  });
}

export const rateLimits: Watcher = {
  name: 'rate_limits',
  incidentType: 'rate_limit',
  async check({ db, config, now }) {
    const { windowMinutes, infoPercent, warnPercent } = config.watchers.rateLimits;
    const limits = Object.fromEntries(SOURCE_NAMES.map((s) => [s, config.sources[s].rateLimit])) as Record<string, RateLimit>;
    const seconds = await apiSecondsBetween(db, minutesBefore(now, windowMinutes), new Date(now.getTime() + 1000));
    const uses = limitUse(seconds, limits);
    const window = `in the last ${windowMinutes} min`;
    const findings: WatcherFinding[] = [];
    for (const use of uses) {
      const limit = limits[use.service];
      const limitText = limit ? `${limit.requests} per ${limit.perSeconds} s (${limit.shape})` : 'no documented limit';
      const percent = use.peakPercent ?? 0;
      if (use.throttled === 0 && percent < infoPercent) continue;
      const severity = use.throttled > 0 || percent >= warnPercent ? 'WARN' : 'INFO';
      const title =
        use.throttled > 0
          ? `${use.service} answered HTTP 429 ${use.throttled === 1 ? 'once' : `${use.throttled} times`} ${window}`
          : `${use.service} at ${percentText(percent)} of its rate limit`;
      findings.push({
        subject: `api:${use.service}`,
        severity,
        title,
        body:
          `${use.service}: ${use.requests} requests ${window}, busiest bucket at ${percentText(percent)} of ${limitText}` +
          `${use.throttled ? `, ${use.throttled} answered 429 (rate limited)` : ''}. INFO at ${infoPercent}%, WARN at ${warnPercent}% or any 429.`,
      });
    }
    const busiest = uses.filter((u) => u.peakPercent !== undefined).sort((a, b) => b.peakPercent! - a.peakPercent!)[0];
    return {
      findings,
      summary:
        findings.length === 0
          ? `every API under ${infoPercent}% of its limit, no 429 ${window}${busiest ? ` (busiest: ${busiest.service} at ${percentText(busiest.peakPercent!)})` : ''}`
          : `${findings.length} APIs near or at their limit ${window}`,
      cleared: `under ${infoPercent}% of its limit and no 429 ${window}`,
    };
  },
};
