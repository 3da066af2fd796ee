/**
 * Schedules from the job catalogue (src/jobs.ts): each job's cadence, or config.jobs.<job> when
 * set. Clock times are in the configured time zone (America/Chicago by default).
 */
import type { Config } from '../config';
import { JOB_CATALOGUE, JOB_NAMES, type Cadence, type JobName } from '../jobs';

export type { Cadence } from '../jobs';

/**
 * The shortest interval a schedule may have. Temporal accepts 1 s, but it refuses a catch-up
 * window under 10 s (reconcile sets the window to one interval), and every run is a workflow and an
 * audit row: below 10 s the history and the audit log grow by thousands a day with nothing gained.
 * The catalogue's own shortest cadence is process_retry_queue at 30 s.
 */
export const MIN_INTERVAL_MS = 10_000;
/** The longest: a job that runs less than weekly is not a background job; use `at` for dailies. */
export const MAX_INTERVAL_MS = 7 * 24 * 3_600_000;

/** Why an interval text cannot be a schedule's cadence, or undefined when it can. */
export function intervalProblem(text: string): string | undefined {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!match) return `${JSON.stringify(text.slice(0, 40))} is not a duration like 30s, 5m or 1h`;
  const ms = durationMs(text);
  if (ms < MIN_INTERVAL_MS) return `every ${text} is too often: at least ${MIN_INTERVAL_MS / 1000}s`;
  if (ms > MAX_INTERVAL_MS) return `every ${text} is too rare: at most ${MAX_INTERVAL_MS / 3_600_000}h`;
  if (ms % 1000 !== 0) return `every ${text} is not a whole number of seconds`;
  return undefined;
}

export class ScheduleTableError extends Error {
  override readonly name = 'ScheduleTableError';
}

const CLOCK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** Why a clock time cannot be a daily cadence, or undefined when it can. */
export function clockProblem(text: string): string | undefined {
  return CLOCK_TIME.test(text) ? undefined : `${JSON.stringify(text.slice(0, 40))} is not a time HH:MM`;
}

/** The same rules for a cadence wherever it comes from: config, opsctl schedules set, a proposal. */
export function cadenceProblem(cadence: Cadence): string | undefined {
  return 'every' in cadence ? intervalProblem(cadence.every) : clockProblem(cadence.at);
}

/** Same schedule: 60m and 1h are one cadence. */
export function sameCadence(a: Cadence, b: Cadence): boolean {
  if ('every' in a && 'every' in b) {
    const ms = (text: string) => (intervalProblem(text) ? text : durationMs(text));
    return ms(a.every) === ms(b.every);
  }
  return 'at' in a && 'at' in b && a.at === b.at;
}

/** Every row checked before any schedule is touched; one error naming each bad job and its value. */
export function validateSchedules(rows: readonly ResolvedSchedule[]): void {
  const problems = rows.flatMap((row) => {
    const problem = cadenceProblem(row.cadence);
    if (!problem) return [];
    return 'every' in row.cadence ? [`jobs.${row.job}.every: ${problem}`] : [`jobs.${row.job}.at: ${problem}`];
  });
  if (problems.length) throw new ScheduleTableError(`Invalid schedule table, nothing changed:\n  - ${problems.join('\n  - ')}`);
}

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
        : JOB_CATALOGUE[job].cadence;
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
