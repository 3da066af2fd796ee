/**
 * rate_limit_pressure: a source that comes close to its documented API limit
 * (config.sources.<source>.rateLimit). Use is measured as the rate_limits watcher measures it
 * (limitUse, bucketSeconds: the busiest bucket against what the limit allows in one), over the
 * whole lookback, from the per-second request counts (api_request_windows).
 *
 * Confidence = min(1, max(0, (P − 50) / 50) + 0.25 × min(Q, 2)), P = the busiest bucket's use in
 * percent of the limit, Q = requests answered 429 in the lookback. Half the limit is 0, 80% is
 * 0.6, the limit itself is 1; a 429 adds 0.25 (two 429s: 0.5).
 */
import type { RateLimit } from '../../config';
import { JOB_NAMES, JOB_CATALOGUE, type JobName } from '../../jobs';
import type { ProposalAction } from '../../proposal-actions';
import { SOURCE_NAMES, type SourceName } from '../../sources';
import { apiSecondsBetween, type ApiSecond } from '../../store/api-calls';
import { bucketSeconds, limitUse } from '../watchers/rate-limits';
import { bySubject, evidence, round3, slowerCadence } from './common';
import type { Detector, Pattern } from './types';

export const RATE_LIMIT_PRESSURE = 'rate_limit_pressure';

export function rateLimitConfidence(peakPercent: number, throttled: number): number {
  return round3(Math.max(0, (peakPercent - 50) / 50) + 0.25 * Math.min(throttled, 2));
}

/** An api_request_windows row's key as evidence: "<at_second>|<service>|<endpoint>". */
export function windowRowId(s: Pick<ApiSecond, 'atSecond' | 'service' | 'endpoint'>): string {
  return `${s.atSecond}|${s.service}|${s.endpoint}`;
}

export function parseWindowRowId(id: string): { atSecond: number; service: string; endpoint: string } {
  const [at, service, ...endpoint] = id.split('|');
  return { atSecond: Number(at), service: service ?? '', endpoint: endpoint.join('|') };
}

/** The job that syncs `source` on its own schedule (chat has none: periodic_scan syncs it). */
function syncJobOf(source: string): JobName | undefined {
  return JOB_NAMES.find((job) => (JOB_CATALOGUE[job] as { syncs?: SourceName }).syncs === source);
}

export const rateLimitPressure: Detector = {
  kind: RATE_LIMIT_PRESSURE,
  describe:
    'min(1, max(0, (P − 50) / 50) + 0.25 × min(Q, 2)), P = busiest bucket of the lookback in % of the source\'s rateLimit (as the rate_limits watcher measures it), Q = 429 answers: 80% of the limit is 0.6, 100% is 1, each 429 adds 0.25',
  async detect({ db, config, since, now }) {
    const limits = Object.fromEntries(SOURCE_NAMES.map((s) => [s, config.sources[s].rateLimit])) as Record<string, RateLimit>;
    const seconds = await apiSecondsBetween(db, since, new Date(now.getTime() + 1000));
    const patterns: Pattern[] = [];
    for (const use of limitUse(seconds, limits)) {
      const limit = limits[use.service];
      if (!limit) continue;
      const confidence = rateLimitConfidence(use.peakPercent ?? 0, use.throttled);
      if (confidence <= 0) continue;
      // The busiest bucket's seconds, and every second answered 429: the rows it rests on.
      const mine = seconds.filter((s) => s.service === use.service);
      const size = bucketSeconds(limit);
      const perBucket = new Map<number, number>();
      for (const s of mine) perBucket.set(Math.floor(s.atSecond / size), (perBucket.get(Math.floor(s.atSecond / size)) ?? 0) + s.requests);
      // The earliest of the busiest buckets (a loop: a day of 1 s buckets is too many to spread).
      let peakBucket = NaN;
      let peak = -1;
      for (const [bucket, n] of perBucket) if (n > peak || (n === peak && bucket < peakBucket)) [peakBucket, peak] = [bucket, n];
      const rows = mine.filter((s) => s.throttled > 0 || Math.floor(s.atSecond / size) === peakBucket);
      rows.sort((a, b) => b.throttled - a.throttled || b.requests - a.requests || a.atSecond - b.atSecond || (a.endpoint < b.endpoint ? -1 : 1));
      const job = syncJobOf(use.service);
      const slower = job ? slowerCadence(config, job) : undefined;
      const limitText = `${limit.requests} per ${limit.perSeconds} s`;
      const percent = `${Math.round(use.peakPercent ?? 0)}%`;
      const action: ProposalAction =
        job && slower
          ? { kind: 'set_cadence', job, every: slower.slower }
          : { kind: 'record_only', note: `${use.service} reached ${percent} of its limit (${limitText}): spread its requests out` };
      patterns.push({
        kind: RATE_LIMIT_PRESSURE,
        subject: use.service,
        confidence,
        evidence: evidence('api_request_windows', rows.map(windowRowId)),
        summary:
          `${use.service}'s busiest ${size} s in the lookback used ${percent} of its limit (${limitText}), ` +
          `${use.requests} requests in all${use.throttled ? `, ${use.throttled} answered 429` : ''}.`,
        title: job && slower ? `Sync ${use.service} less often (${job} every ${slower.slower}, now ${slower.current}): near its API limit` : `${use.service} is near its API limit`,
        action,
      });
    }
    return bySubject(patterns);
  },
};
