/**
 * The schedule table: one row per spec job with its cadence. Clock times are in the configured
 * time zone (America/Chicago by default); config.jobs.<job> overrides any row.
 */
import type { Config } from '../config';
import { JOB_NAMES, type JobName } from '../jobs';

export type Cadence = { every: string } | { at: string };

export const SCHEDULE_TABLE: Readonly<Record<JobName, Cadence>> = {
  periodic_scan: { every: '30m' },
  daily_digest: { at: '08:00' },
  morning_call: { at: '06:00' },
  sync_notion: { every: '60m' },
  sync_n8n: { every: '30m' },
  sync_hubspot: { every: '60m' },
  run_watchers: { every: '5m' },
  process_retry_queue: { every: '30s' },
  cleanup_old_data: { at: '02:00' },
  health_monitor: { every: '5m' },
};

export interface ResolvedSchedule {
  job: JobName;
  cadence: Cadence;
  timezone: string;
}

export function resolveSchedules(config: Config): ResolvedSchedule[] {
  return JOB_NAMES.map((job) => {
    const override = config.jobs[job];
    const cadence: Cadence = override?.every
      ? { every: override.every }
      : override?.at
        ? { at: override.at }
        : SCHEDULE_TABLE[job];
    return { job, cadence, timezone: config.timezone };
  });
}

/** "30s" | "5m" | "1h" | "250ms" to milliseconds. */
export function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

export function describeCadence(cadence: Cadence, timezone: string): string {
  return 'every' in cadence ? `every ${cadence.every}` : `daily at ${cadence.at} ${timezone}`;
}
