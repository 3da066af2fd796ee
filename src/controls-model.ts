/**
 * The spec's agent_controls, and the validation of a change to them. Pure (zod only), so the
 * ops-controls workflow validates Updates with the same schema the CLI and client use.
 *
 * Everything that reaches ops-controls or a job from outside is bounded here: the Update's actor
 * and reason have a length cap and must be one line of printable text, and a state received by
 * signal (or carried across continue-as-new, or read back from the store mirror) is checked and
 * its free text clipped, so no input can grow a workflow's state or history without limit.
 */
import { z } from 'zod';
import { once } from './once';

/** Who made a change: a user name or a program's name. */
export const ACTOR_MAX_LENGTH = 100;
/** Why: one sentence for the audit log, not a document (a ticket link fits). */
export const REASON_MAX_LENGTH = 500;
/** An ISO-8601 instant is 24 characters; some slack for other precisions. */
const TIMESTAMP_MAX_LENGTH = 40;
/** The longest IANA zone name is about 30 characters. */
const TIME_ZONE_MAX_LENGTH = 64;
/** An error message built from hostile input (e.g. thousands of unknown keys) stays readable. */
const MESSAGE_MAX_LENGTH = 1000;

/**
 * C0 and C1 controls (newlines, ESC of ANSI sequences, the 8-bit CSI), the Unicode line and
 * paragraph separators and the bidi overrides: each can forge or hide text on a terminal.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex
const UNPRINTABLE_ALL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function hasUnprintable(text: string): boolean {
  return UNPRINTABLE.test(text);
}

/** The text with every unprintable character shown as an escape (\n, \x1b, \u202e), never raw. */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE_ALL, (ch) => {
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    if (ch === '\t') return '\\t';
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A name from outside (a signal's, a key's) fit for a log line or a message. */
export function printableName(name: unknown): string {
  return clip(escapeUnprintable(String(name)), 100);
}

/** At most `max` characters; a clipped text ends with an ellipsis so it never reads as whole. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** One line of printable text from an operator, with a length cap. */
function operatorText(field: string, max: number) {
  return z
    .string()
    .trim()
    .min(1, `say ${field}`)
    .max(max, `at most ${max} characters`)
    .refine((text) => !hasUnprintable(text), {
      message: 'must be one line of printable text: no control characters, escape sequences or newlines',
    });
}

export function isKnownTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * The schemas of the controls, built on first use (see once.ts): the quiet hours, the flags, a
 * change as an operator asks for it, and a whole state as it arrives from elsewhere (below).
 */
export const controlsSchemas = once(() => {
  const clockTime = z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a 24-hour time HH:MM, e.g. 22:00');
  const timeZoneName = z.string().max(TIME_ZONE_MAX_LENGTH).refine((name) => name.length <= TIME_ZONE_MAX_LENGTH && isKnownTimeZone(name), {
    message: 'unknown IANA time zone (e.g. America/Chicago)',
  });
  const quietHours = z.strictObject({
    enabled: z.boolean(),
    start: clockTime,
    end: clockTime,
    timeZone: timeZoneName,
  });
  const controlFlags = z.strictObject({
    killSwitch: z.boolean(),
    jobsEnabled: z.boolean(),
    commsEnabled: z.boolean(),
    writeEnabled: z.boolean(),
    quietHours,
  });
  const controlsChange = z.strictObject({
    killSwitch: z.boolean().optional(),
    jobsEnabled: z.boolean().optional(),
    commsEnabled: z.boolean().optional(),
    writeEnabled: z.boolean().optional(),
    quietHours: quietHours.partial().strict().optional(),
    actor: operatorText('who makes the change', ACTOR_MAX_LENGTH),
    reason: operatorText('why the change is made', REASON_MAX_LENGTH),
  });
  /**
   * A whole controls state as it arrives from elsewhere: a controlsChanged signal, ops-controls'
   * own input after continue-as-new, the store mirror. The flags must be right (a job acts on
   * them); free text written before the caps existed is clipped rather than refused, so an old
   * long reason can never make a job drop a kill-switch signal. Unknown keys are dropped.
   */
  const controlsState = z.object({
    killSwitch: z.boolean(),
    jobsEnabled: z.boolean(),
    commsEnabled: z.boolean(),
    writeEnabled: z.boolean(),
    quietHours,
    version: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    updatedAt: z.string().transform((t) => clip(t, TIMESTAMP_MAX_LENGTH)),
    updatedBy: z.string().transform((t) => clip(t, ACTOR_MAX_LENGTH)),
    reason: z.string().transform((t) => clip(t, REASON_MAX_LENGTH)),
  });
  return { timeZoneName, quietHours, controlFlags, controlsChange, controlsState };
});
type ControlsSchemas = ReturnType<typeof controlsSchemas>;
export type QuietHours = z.infer<ControlsSchemas['quietHours']>;
export type ControlFlags = z.infer<ControlsSchemas['controlFlags']>;
export type ControlsChange = z.infer<ControlsSchemas['controlsChange']>;

export interface ControlsState extends ControlFlags {
  /** Increments on every accepted change; lets a job ignore a stale signal. */
  readonly version: number;
  readonly updatedAt: string;
  readonly updatedBy: string;
  readonly reason: string;
}

export class InvalidControlsChange extends Error {
  override readonly name = 'InvalidControlsChange';
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** A received controls state, bounded; or why it is not one. Never throws. */
export function checkControlsState(input: unknown): Checked<ControlsState> {
  const parsed = controlsSchemas().controlsState.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: `Invalid controls state: ${describeIssues(parsed.error.issues)}` };
}

/** Parses a change request; throws one error naming every bad field. */
export function parseControlsChange(input: unknown): ControlsChange {
  const parsed = controlsSchemas().controlsChange.safeParse(input);
  if (!parsed.success) {
    throw new InvalidControlsChange(`Invalid controls change: ${describeIssues(parsed.error.issues)}`);
  }
  const change = parsed.data;
  const touched = (Object.keys(change) as (keyof ControlsChange)[]).filter((k) => k !== 'actor' && k !== 'reason');
  if (touched.length === 0) {
    throw new InvalidControlsChange('Invalid controls change: it changes nothing (name at least one control)');
  }
  return change;
}

export function applyControlsChange(
  current: ControlsState,
  change: ControlsChange,
  at: string,
): ControlsState {
  const quietHours = { ...current.quietHours, ...change.quietHours };
  const checked = controlsSchemas().quietHours.safeParse(quietHours);
  if (!checked.success) {
    throw new InvalidControlsChange(`Invalid controls change: ${describeIssues(checked.error.issues, 'quietHours')}`);
  }
  return {
    killSwitch: change.killSwitch ?? current.killSwitch,
    jobsEnabled: change.jobsEnabled ?? current.jobsEnabled,
    commsEnabled: change.commsEnabled ?? current.commsEnabled,
    writeEnabled: change.writeEnabled ?? current.writeEnabled,
    quietHours: checked.data,
    version: current.version + 1,
    updatedAt: at,
    updatedBy: change.actor,
    reason: change.reason,
  };
}

/**
 * "field.sub: what is wrong; other: ...". Field names come from the input, so each is clipped
 * and escaped, and the whole message is capped.
 */
export function describeIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  prefix?: string,
): string {
  const text = issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map((p) => clip(String(p), 60))].filter(Boolean).join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
  return clip(escapeUnprintable(text), MESSAGE_MAX_LENGTH);
}

/**
 * Whether `after` lets something happen that `before` forbade: a job run, a write, a message, at
 * some instant. Each flag on its own (enabling jobs while the kill switch is on still loosens,
 * since the kill switch may go off later), and quiet hours by their effect: turning them on (any
 * window) or off-to-off window edits never loosen; once they are on, only the same window does
 * not loosen (another window may let a job run at an hour the old one kept quiet).
 *
 * A change that does not loosen is safe to apply before the store mirror has it: a job that reads
 * the older mirror is then at most less strict than it will be told to be by signal, never more.
 */
export function loosens(before: ControlFlags, after: ControlFlags): boolean {
  return (
    (before.killSwitch && !after.killSwitch) ||
    (!before.jobsEnabled && after.jobsEnabled) ||
    (!before.commsEnabled && after.commsEnabled) ||
    (!before.writeEnabled && after.writeEnabled) ||
    quietHoursLoosen(before.quietHours, after.quietHours)
  );
}

function quietHoursLoosen(before: QuietHours, after: QuietHours): boolean {
  if (!before.enabled) return false;
  return !after.enabled || after.start !== before.start || after.end !== before.end || after.timeZone !== before.timeZone;
}

/**
 * Whether a received controls state replaces the one a job holds. A newer version always does.
 * An older one does when it turns the kill switch on or loosens nothing: anyone who can reach
 * Temporal can send a well-formed state with a huge version, and a job that then dropped every
 * lower version would ignore the real kill switch. Stricter is never ignored; looser needs newer.
 */
export function supersedes(current: ControlsState, next: ControlsState): boolean {
  return next.version >= current.version || next.killSwitch || !loosens(current, next);
}

/** Whether `after` is stricter than `before` in some control (a window edit while on counts both ways). */
export function tightens(before: ControlFlags, after: ControlFlags): boolean {
  return loosens(after, before);
}

/**
 * The key of ops-controls' memo that holds its state while the store mirror is behind it. A
 * joining job reads it with a describe, which the Temporal server answers alone: unlike a query,
 * it never waits for ops-controls' worker, so it costs a job start no more than one short RPC.
 */
export const PENDING_CONTROLS_MEMO = 'controlsAheadOfMirror';

/**
 * What ops-controls answers (its query and its Update): the state, and, while the store has not
 * taken the latest change yet, `mirror: 'pending'` with a one-line warning for the operator.
 * Without those two fields it is exactly a ControlsState, as before.
 */
export interface ControlsView extends ControlsState {
  mirror?: 'pending';
  warning?: string;
}
