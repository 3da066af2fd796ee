/** Pure parsing of opsctl arguments, so every bad input fails before anything is touched. */
import { isJobName, JOB_NAMES, type JobName } from '../jobs';
import { E164 } from '../phone';
import type { AddressKind } from '../store/schema';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "1h", "2d" ago, or an ISO 8601 date (date alone, or date and time). */
export function parseSince(value: string, now: Date = new Date()): Date {
  const text = value.trim();
  const relative = /^(\d+)([smhd])$/.exec(text);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNITS[relative[2]!]!);
  // Only ISO 8601: Date.parse also takes "1", "May 5" and other guesses.
  const iso = /^(\d{4})-(\d{2})-(\d{2})([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  if (iso && isCalendarDate(Number(iso[1]), Number(iso[2]), Number(iso[3]))) {
    const at = new Date(text);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new UsageError(`--since "${value}" is not a duration (90s, 30m, 1h, 2d) or an ISO date (2026-11-23 or 2026-11-23T08:00:00Z)`);
}

/** new Date() rolls 2026-02-30 over to March 2; a day that does not exist is a typo. */
function isCalendarDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

export function parseJob(value: string): JobName {
  if (!isJobName(value)) throw new UsageError(`unknown job "${value}"; jobs are: ${JOB_NAMES.join(', ')}`);
  return value;
}

/** A job name, or another audited action such as `controls.update` (always dotted). */
export function parseAuditAction(value: string): string {
  return value.includes('.') ? value : parseJob(value);
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
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${what} must be a positive whole number, not "${value}"`);
  }
  return Number(value);
}

/** Commander collector for a repeatable `--param k=v`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseParams(pairs: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--param "${pair}" must look like key=value`);
    const key = pair.slice(0, eq);
    if (key in params) throw new UsageError(`--param "${key}" is given twice`);
    params[key] = pair.slice(eq + 1);
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

/** An allowlist address: an E.164 phone number (+15551234567) or a numeric Telegram chat id. */
export function parseAddress(value: string): { kind: AddressKind; address: string } {
  const text = value.trim();
  if (E164.test(text)) return { kind: 'phone', address: text };
  if (/^-?\d{1,20}$/.test(text)) return { kind: 'telegram', address: text };
  throw new UsageError(
    `"${value}" is not an address: give a phone number in E.164 form (+15551234567) or a numeric Telegram chat id (123456789)`,
  );
}
