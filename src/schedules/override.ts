/**
 * A cadence changed at run time: `opsctl schedules set` or an approved set_cadence proposal. The
 * Temporal Schedule itself is the durable place: its spec runs the new cadence at once, and its
 * action memo records the override with the configured cadence it overrode. Reconcile at boot
 * keeps it while the config still says that cadence for the job, and drops it (config wins) once
 * the config says another. One mechanism for both callers (set-cadence.ts), so `schedules list`
 * can say whose it is.
 */
import type { ScheduleDescription } from '@temporalio/client';
import { z } from 'zod';
import { cadenceProblem, durationMs, type Cadence } from './table';

/** Action memo key: the override (absent when the schedule runs its configured cadence). */
export const OVERRIDE_MEMO_KEY = 'opsCadenceOverride';

const cadenceSchema = z
  .union([z.strictObject({ every: z.string().max(20) }), z.strictObject({ at: z.string().max(5) })])
  .superRefine((cadence, ctx) => {
    const problem = cadenceProblem(cadence);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Read back from Temporal, so parsed like any outside input: a malformed one counts as none. */
export const cadenceOverrideSchema = z.strictObject({
  cadence: cadenceSchema,
  /** What config said for the job when the override was made; a different one at boot wins. */
  configured: cadenceSchema,
  actor: z.string().min(1).max(200),
  reason: z.string().min(1).max(1000),
  at: z.iso.datetime(),
  /** Set when an approved set_cadence proposal made it. */
  proposal: z.number().int().positive().optional(),
});
export type CadenceOverride = z.infer<typeof cadenceOverrideSchema>;

export function readOverride(memo: Record<string, unknown> | undefined): CadenceOverride | undefined {
  const parsed = cadenceOverrideSchema.safeParse(memo?.[OVERRIDE_MEMO_KEY]);
  return parsed.success ? parsed.data : undefined;
}

/** The override recorded on a described schedule, if any. */
export function overrideOf(described: Pick<ScheduleDescription, 'action'>): CadenceOverride | undefined {
  return described.action.type === 'startWorkflow' ? readOverride(described.action.memo) : undefined;
}

/** The cadence a schedule's spec runs (one interval, or one daily time), or undefined for anything else. */
export function cadenceOfSpec(spec: ScheduleDescription['spec']): Cadence | undefined {
  const intervals = spec.intervals ?? [];
  const calendars = spec.calendars ?? [];
  if (intervals.length === 1 && calendars.length === 0) {
    const every = intervals[0]!.every;
    return { every: durationText(typeof every === 'number' ? every : durationMs(String(every))) };
  }
  if (calendars.length === 1 && intervals.length === 0) {
    const [c] = calendars;
    const one = (range: unknown): number | undefined => {
      const list = Array.isArray(range) ? range : [];
      const first = list[0] as { start?: number; end?: number } | undefined;
      return list.length === 1 && first?.start !== undefined && (first.end ?? first.start) === first.start ? first.start : undefined;
    };
    const hour = one(c!.hour);
    const minute = one(c!.minute);
    if (hour !== undefined && minute !== undefined) return { at: `${pad(hour)}:${pad(minute)}` };
  }
  return undefined;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Milliseconds as the shortest exact duration text: 3600000 -> "1h", 90000 -> "90s". */
export function durationText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
