/**
 * The job catalogue: one row per spec job, with its cadence and its traits. Pure data: workflows,
 * schedules, CLI and client all import it, so a job is named and described once. Adding a job is
 * one row here, one workflow file (exported from workflows/index.ts: src/workflows/registry.ts
 * makes the compiler check it), its activities and tests.
 */
import type { SourceName } from './sources';

/** Clock times are in the configured time zone (America/Chicago by default). */
export type Cadence = { every: string } | { at: string };

export interface JobTraits {
  /** Runs its checks even when jobs_enabled is off (spec: health monitor "always runs"). */
  readonly runsWhenJobsDisabled: boolean;
  /**
   * Not stopped by quiet hours. Quiet hours exist so the operator is not disturbed: they hold
   * back alerts, not work that never reaches a person (maintenance, watchers, health) and not the
   * call the operator booked for a time of their choosing.
   */
  readonly runsInQuietHours: boolean;
  /** Spec prerequisite write_enabled = true. */
  readonly requiresWrites: boolean;
  /** Spec prerequisite comms_enabled = true. */
  readonly requiresComms: boolean;
}

export interface JobRow {
  /** The spec's cadence; config.jobs.<job> (or one of the spec's own keys) overrides it. */
  readonly cadence: Cadence;
  readonly traits: JobTraits;
  /** The source a sync job reads: the spec configures its cadence under sources.<source>. */
  readonly syncs?: SourceName;
}

const ordinary: JobTraits = { runsWhenJobsDisabled: false, runsInQuietHours: false, requiresWrites: false, requiresComms: false };
const writes: JobTraits = { ...ordinary, requiresWrites: true };
const comms: JobTraits = { ...ordinary, requiresComms: true };

export const JOB_CATALOGUE = {
  periodic_scan: { cadence: { every: '30m' }, traits: ordinary },
  daily_digest: { cadence: { at: '08:00' }, traits: comms },
  // The operator's own alarm: it rings at the time they chose, even inside their quiet hours.
  morning_call: { cadence: { at: '06:00' }, traits: { ...comms, runsInQuietHours: true } },
  sync_notion: { cadence: { every: '60m' }, traits: writes, syncs: 'notion' },
  sync_n8n: { cadence: { every: '30m' }, traits: writes, syncs: 'n8n' },
  sync_hubspot: { cadence: { every: '60m' }, traits: writes, syncs: 'hubspot' },
  // Its incidents wait for the digest (WARN/INFO), so it never reaches a person directly.
  run_watchers: { cadence: { every: '5m' }, traits: { ...ordinary, runsInQuietHours: true } },
  process_retry_queue: { cadence: { every: '30s' }, traits: { ...ordinary, runsInQuietHours: true } },
  // Nightly maintenance at 02:00 would never run if quiet hours stopped it.
  cleanup_old_data: { cadence: { at: '02:00' }, traits: { ...writes, runsInQuietHours: true } },
  health_monitor: { cadence: { every: '5m' }, traits: { ...ordinary, runsWhenJobsDisabled: true, runsInQuietHours: true } },
} as const satisfies Record<string, JobRow>;

export type JobName = keyof typeof JOB_CATALOGUE;

/** The jobs in catalogue order. */
export const JOB_NAMES = Object.keys(JOB_CATALOGUE) as [JobName, ...JobName[]];

export function isJobName(value: string): value is JobName {
  return Object.hasOwn(JOB_CATALOGUE, value);
}

export function jobRow(job: JobName): JobRow {
  return JOB_CATALOGUE[job];
}

export function jobTraits(job: JobName): JobTraits {
  return JOB_CATALOGUE[job].traits;
}
