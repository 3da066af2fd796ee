/**
 * The spec's agent_controls, and the validation of a change to them. Pure (zod only), so the
 * ops-controls workflow validates Updates with the same schema the CLI and client use.
 */
import { z } from 'zod';

const clockTime = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a 24-hour time HH:MM, e.g. 22:00');

export const timeZoneName = z.string().refine(isKnownTimeZone, {
  message: 'unknown IANA time zone (e.g. America/Chicago)',
});

export function isKnownTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const quietHoursSchema = z.strictObject({
  enabled: z.boolean(),
  start: clockTime,
  end: clockTime,
  timeZone: timeZoneName,
});
export type QuietHours = z.infer<typeof quietHoursSchema>;

export const controlFlagsSchema = z.strictObject({
  killSwitch: z.boolean(),
  jobsEnabled: z.boolean(),
  commsEnabled: z.boolean(),
  writeEnabled: z.boolean(),
  quietHours: quietHoursSchema,
});
export type ControlFlags = z.infer<typeof controlFlagsSchema>;

export interface ControlsState extends ControlFlags {
  /** Increments on every accepted change; lets a job ignore a stale signal. */
  readonly version: number;
  readonly updatedAt: string;
  readonly updatedBy: string;
  readonly reason: string;
}

export const controlsChangeSchema = z.strictObject({
  killSwitch: z.boolean().optional(),
  jobsEnabled: z.boolean().optional(),
  commsEnabled: z.boolean().optional(),
  writeEnabled: z.boolean().optional(),
  quietHours: quietHoursSchema.partial().strict().optional(),
  actor: z.string().trim().min(1, 'say who makes the change'),
  reason: z.string().trim().min(1, 'say why the change is made'),
});
export type ControlsChange = z.infer<typeof controlsChangeSchema>;

export class InvalidControlsChange extends Error {
  override readonly name = 'InvalidControlsChange';
}

/** Parses a change request; throws one error naming every bad field. */
export function parseControlsChange(input: unknown): ControlsChange {
  const parsed = controlsChangeSchema.safeParse(input);
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
  const checked = quietHoursSchema.safeParse(quietHours);
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

export function describeIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  prefix?: string,
): string {
  return issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}
