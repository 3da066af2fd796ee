/** Pure parsing of opsctl arguments, so every bad input fails before anything is touched. */
import { InvalidJobParams, parseJobParams } from '../job-params';
import { isJobName, JOB_NAMES, type JobName } from '../jobs';
import { E164 } from '../phone';
import type { AddressKind } from '../store/schema';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The audit log keeps a year by default; a century back is already everything. */
export const MAX_SINCE_DAYS = 36_500;
const MAX_SINCE_MS = MAX_SINCE_DAYS * UNITS.d!;

/** Every argument, bounded: no value a person types is this long. */
export const MAX_ARGUMENT_LENGTH = 10_000;
export const MAX_ARGUMENTS = 200;

/** "90s", "30m", "1h", "2d" ago, or an ISO 8601 date (date alone, or date and time). */
export function parseSince(value: string, now: Date = new Date()): Date {
  const text = value.trim();
  const relative = /^(\d+)([smhd])$/.exec(text);
  if (relative) {
    const ms = Number(relative[1]) * UNITS[relative[2]!]!;
    // Unbounded, 99999999999999999999d is past the end of Date's range ("Invalid time value").
    if (!(ms <= MAX_SINCE_MS)) throw new UsageError(`--since "${shown(value)}" is too far back: at most ${MAX_SINCE_DAYS}d`);
    return new Date(now.getTime() - ms);
  }
  // Only ISO 8601: Date.parse also takes "1", "May 5" and other guesses.
  const iso = /^(\d{4})-(\d{2})-(\d{2})([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  if (iso && isCalendarDate(Number(iso[1]), Number(iso[2]), Number(iso[3]))) {
    const at = new Date(text);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new UsageError(`--since "${shown(value)}" is not a duration (90s, 30m, 1h, 2d) or an ISO date (2026-11-23 or 2026-11-23T08:00:00Z)`);
}

/** new Date() rolls 2026-02-30 over to March 2; a day that does not exist is a typo. */
function isCalendarDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

export function parseJob(value: string): JobName {
  if (!isJobName(value)) throw new UsageError(`unknown job "${shown(value)}"; jobs are: ${JOB_NAMES.join(', ')}`);
  return value;
}

/** A job name, or another audited action such as `controls.update` (always dotted). */
export function parseAuditAction(value: string): string {
  return value.includes('.') ? value : parseJob(value);
}

export function parseOnOff(value: string, what: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new UsageError(`${what} takes "on" or "off", not "${shown(value)}"`);
}

export function parseEnableDisable(value: string, what: string): boolean {
  if (value === 'enable') return true;
  if (value === 'disable') return false;
  throw new UsageError(`${what} takes "enable" or "disable", not "${shown(value)}"`);
}

export function parsePositiveInt(value: string, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${what} must be a positive whole number, not "${shown(value)}"`);
  }
  return Number(value);
}

/** Commander collector for a repeatable `--param k=v`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--param k=v` pairs, checked against what the job declares (job-params.ts). */
export function parseParams(pairs: string[], job?: JobName): Record<string, unknown> {
  // A Map, then fromEntries: `params[key] = v` with key __proto__ would set the prototype instead.
  const pairsByKey = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--param "${shown(pair)}" must look like key=value`);
    const key = pair.slice(0, eq);
    if (pairsByKey.has(key)) throw new UsageError(`--param "${shown(key)}" is given twice`);
    pairsByKey.set(key, pair.slice(eq + 1));
  }
  const params = Object.fromEntries(pairsByKey);
  if (job === undefined) return params;
  try {
    return parseJobParams(job, params);
  } catch (err) {
    if (err instanceof InvalidJobParams) throw new UsageError(`--param: ${err.message}`);
    throw err;
  }
}

export function requireReason(reason: string | undefined, what: string): string {
  if (!reason || !reason.trim()) throw new UsageError(`${what} needs --reason "why" (every operator action is audited)`);
  return reason;
}

export function parseClock(value: string, what: string): string {
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(value)) throw new UsageError(`${what} must be a 24-hour time HH:MM, not "${shown(value)}"`);
  return value;
}

/**
 * Refuses what no person types: too many arguments, an argument too long, or one holding a
 * control character (an escape sequence or newline would forge lines in our messages and output).
 */
export function checkArgv(argv: readonly string[]): void {
  if (argv.length > MAX_ARGUMENTS) throw new UsageError(`too many arguments (${argv.length}; at most ${MAX_ARGUMENTS})`);
  argv.forEach((arg, i) => {
    if (arg.length > MAX_ARGUMENT_LENGTH) {
      throw new UsageError(`argument ${i + 1} is ${arg.length} characters long; at most ${MAX_ARGUMENT_LENGTH}`);
    }
    if (CONTROL.test(arg)) throw new UsageError(`argument ${i + 1} ("${shown(arg)}") contains a control character`);
  });
}

// C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidi overrides.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** A user's value inside a message: escaped to one line, and cut short. */
export function shown(value: string, max = 80): string {
  const cut = value.length > max ? `${value.slice(0, max)}...` : value;
  // JSON escapes controls and quotes; the surrounding quotes are ours.
  return JSON.stringify(cut).slice(1, -1).replace(/[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** An allowlist address: an E.164 phone number (+15551234567) or a numeric Telegram chat id. */
export function parseAddress(value: string): { kind: AddressKind; address: string } {
  const text = value.trim();
  if (E164.test(text)) return { kind: 'phone', address: text };
  if (/^-?\d{1,20}$/.test(text)) return { kind: 'telegram', address: text };
  throw new UsageError(
    `"${shown(value)}" is not an address: give a phone number in E.164 form (+15551234567) or a numeric Telegram chat id (123456789)`,
  );
}
