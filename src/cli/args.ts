/** Pure parsing of opsctl arguments, so every bad input fails before anything is touched. */
import { isJobName, JOB_NAMES, type JobName } from '../jobs';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "1h", "2d" ago, or an ISO date. */
export function parseSince(value: string, now: Date = new Date()): Date {
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNITS[relative[2]!]!);
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const at = new Date(value);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new UsageError(`--since "${value}" is not a duration (30m, 1h, 2d) or an ISO date (2026-11-23T08:00:00Z)`);
}

export function parseJob(value: string): JobName {
  if (!isJobName(value)) throw new UsageError(`unknown job "${value}"; jobs are: ${JOB_NAMES.join(', ')}`);
  return value;
}

export function parseOnOff(value: string, what: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new UsageError(`${what} takes "on" or "off", not "${value}"`);
}

export function parseEnableDisable(value: string, what: string): boolean {
  if (value === 'enable') return true;
  if (value === 'disable') return false;
  throw new UsageError(`${what} takes "enable" or "disable", not "${value}"`);
}

export function parsePositiveInt(value: string, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${what} must be a positive whole number, not "${value}"`);
  return Number(value);
}

export function parseParams(pairs: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--param "${pair}" must look like key=value`);
    params[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return params;
}

export function requireReason(reason: string | undefined, what: string): string {
  if (!reason || !reason.trim()) throw new UsageError(`${what} needs --reason "why" (every change to the controls is audited)`);
  return reason;
}

export function parseClock(value: string, what: string): string {
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(value)) throw new UsageError(`${what} must be a 24-hour time HH:MM, not "${value}"`);
  return value;
}
