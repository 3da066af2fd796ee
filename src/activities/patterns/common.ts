/**
 * Small pure helpers the detectors share: bounded text, a stable order, and the slower cadence a
 * set_cadence proposal suggests for a job.
 */
import type { Config } from '../../config';
import type { JobName } from '../../jobs';
import { durationMs, MAX_INTERVAL_MS, resolveSchedules } from '../../schedules/table';
import type { EvidenceRef, Pattern } from './types';

/** At most this many evidence rows per pattern (the store keeps 200): the strongest come first. */
export const MAX_EVIDENCE = 50;

export const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Confidence kept to 3 decimals, so the same counts print and compare the same everywhere. */
export const round3 = (x: number): number => Math.round(Math.min(1, Math.max(0, x)) * 1000) / 1000;

export const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

/** Every detector's results in one order: by subject (code-point order, not locale). */
export function bySubject(patterns: Pattern[]): Pattern[] {
  return [...patterns].sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
}

export function evidence(table: string, ids: readonly (number | string)[]): EvidenceRef[] {
  return ids.slice(0, MAX_EVIDENCE).map((id) => ({ table, id }));
}

/** "90m", "3h", "45s": the shortest exact spelling proposal-actions accepts. */
export function durationText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/**
 * Twice the job's current interval (config.jobs overrides included), at most a week; undefined
 * for a daily job (at HH:MM) or one already at the longest interval: nothing slower to propose.
 */
export function slowerCadence(config: Config, job: JobName): { current: string; slower: string } | undefined {
  const schedule = resolveSchedules(config).find((s) => s.job === job);
  if (!schedule || !('every' in schedule.cadence)) return undefined;
  const current = durationMs(schedule.cadence.every);
  const slower = Math.min(current * 2, MAX_INTERVAL_MS);
  if (slower <= current) return undefined;
  return { current: schedule.cadence.every, slower: durationText(slower) };
}

/** Number columns come back as strings from some PostgreSQL drivers. */
export const num = (v: unknown): number => Number(v);
