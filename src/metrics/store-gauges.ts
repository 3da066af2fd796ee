/**
 * Figures of the moment, read from the store at scrape time: each one query on an index (or a
 * primary-key range of a minute), so a scrape costs the same whatever the tables' size.
 */
import type { Kysely } from 'kysely';
import type { Config, RateLimit } from '../config';
import { mirroredControls } from '../controls-initial';
import { bucketSeconds } from '../activities/watchers/rate-limits';
import { SOURCE_NAMES, type SourceName } from '../sources';
import { apiSecondsBetween } from '../store/api-calls';
import { countNotifications } from '../store/notifications';
import { openIncidentCounts } from '../store/incidents';
import type { Database, DeadLetterStatus, Severity, Store } from '../store';

/** Letters not resolved (resolved ones are history), by status. */
export async function deadLettersByStatus(db: Kysely<Database>): Promise<Record<Exclude<DeadLetterStatus, 'resolved'>, number>> {
  const rows = await db
    .selectFrom('dead_letters')
    .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
    .where('status', 'in', ['open', 'replaying', 'exhausted'])
    .where('archived', '=', 0)
    .groupBy('status')
    .execute();
  const counts = { open: 0, replaying: 0, exhausted: 0 };
  for (const row of rows) if (row.status in counts) counts[row.status as keyof typeof counts] = Number(row.n);
  return counts;
}

export async function openIncidents(db: Kysely<Database>): Promise<Record<Severity, { open: number; acknowledged: number }>> {
  return openIncidentCounts(db);
}

export async function heldNotifications(db: Kysely<Database>): Promise<number> {
  return countNotifications(db, 'held');
}

export interface ControlFigures {
  killSwitch: boolean;
  /** Each on/off control by name (quietHours: whether quiet hours are on at all). */
  controls: Record<'jobsEnabled' | 'commsEnabled' | 'writeEnabled' | 'quietHours', boolean>;
  version: number;
}

/**
 * The controls as ops-controls last mirrored them to the store; before its first change, what it
 * starts from, the configured defaults (version 0).
 */
export async function controlFigures(store: Store, config: Config): Promise<ControlFigures> {
  const state = (await mirroredControls(store)) ?? { ...config.controls, version: 0 };
  return {
    killSwitch: state.killSwitch,
    controls: { jobsEnabled: state.jobsEnabled, commsEnabled: state.commsEnabled, writeEnabled: state.writeEnabled, quietHours: state.quietHours.enabled },
    version: state.version,
  };
}

export interface BucketUse {
  source: SourceName;
  /** The window the limit is measured on, as the rate_limits watcher measures it. */
  windowSeconds: number;
  requests: number;
  /** What the limit allows in that window. */
  allowed: number;
}

/**
 * Each source's requests in the window ending now against what its limit allows in it: a
 * `window` limit on its own length (HubSpot: 10 s), an `average` one on a minute (bursts above the
 * rate are allowed; only a sustained rate uses the bucket up).
 */
export async function bucketUse(db: Kysely<Database>, config: Config, now: Date): Promise<BucketUse[]> {
  const limits = SOURCE_NAMES.map((source) => ({ source, limit: config.sources[source].rateLimit as RateLimit }));
  const nowSecond = Math.floor(now.getTime() / 1000);
  const longest = Math.max(...limits.map(({ limit }) => bucketSeconds(limit)));
  const seconds = await apiSecondsBetween(db, new Date((nowSecond - longest + 1) * 1000), new Date((nowSecond + 1) * 1000));
  return limits.map(({ source, limit }) => {
    const windowSeconds = bucketSeconds(limit);
    const from = nowSecond - windowSeconds + 1;
    const requests = seconds.filter((s) => s.service === source && s.atSecond >= from).reduce((n, s) => n + s.requests, 0);
    return { source, windowSeconds, requests, allowed: (limit.requests * windowSeconds) / limit.perSeconds };
  });
}
