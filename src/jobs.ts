/**
 * The spec's ten jobs. Pure data: workflows, schedules, CLI and client all import it,
 * so a job name is spelled once.
 */
export const JOB_NAMES = [
  'periodic_scan',
  'daily_digest',
  'morning_call',
  'sync_notion',
  'sync_n8n',
  'sync_hubspot',
  'run_watchers',
  'process_retry_queue',
  'cleanup_old_data',
  'health_monitor',
] as const;

export type JobName = (typeof JOB_NAMES)[number];

export function isJobName(value: string): value is JobName {
  return (JOB_NAMES as readonly string[]).includes(value);
}

export interface JobTraits {
  /** Runs its checks even when jobs_enabled is off (spec: health monitor "always runs"). */
  readonly runsWhenJobsDisabled: boolean;
  /** Not stopped by quiet hours (the spec's isEmergencySeverity). */
  readonly emergency: boolean;
  /** Spec prerequisite write_enabled = true. */
  readonly requiresWrites: boolean;
  /** Spec prerequisite comms_enabled = true. */
  readonly requiresComms: boolean;
}

const ordinary: JobTraits = { runsWhenJobsDisabled: false, emergency: false, requiresWrites: false, requiresComms: false };
const writes: JobTraits = { ...ordinary, requiresWrites: true };
const comms: JobTraits = { ...ordinary, requiresComms: true };

/**
 * Quiet hours exist so the operator is not disturbed. Jobs that never reach a person keep
 * running through them, or nightly maintenance at 02:00 would never run.
 */
export const JOB_TRAITS: Readonly<Record<JobName, JobTraits>> = {
  periodic_scan: ordinary,
  daily_digest: comms,
  morning_call: comms,
  sync_notion: writes,
  sync_n8n: writes,
  sync_hubspot: writes,
  run_watchers: ordinary,
  process_retry_queue: { ...ordinary, emergency: true },
  cleanup_old_data: { ...writes, emergency: true },
  health_monitor: { ...ordinary, runsWhenJobsDisabled: true, emergency: true },
};
