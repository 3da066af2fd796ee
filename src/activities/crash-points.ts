/**
 * Named crash points: places where a test (or `npm run chaos`) makes the worker process die
 * by SIGKILL, at the exact moment a guarantee is at stake, instead of a kill at a random moment
 * that nearly always lands during an API request.
 *
 * Armed only by the environment, read once at worker start (armCrashPoints):
 *   OPS_CRASH_POINT=sync.after_fetch_before_commit   one of CRASH_POINTS; unset: every point is a no-op
 *   OPS_CRASH_POINT_SKIP=2                            pass the point this many times first (default 0)
 *   OPS_CRASH_POINT_PROBABILITY=0.5                   then die with this probability at each pass (default 1)
 * An unknown name or a bad number refuses the worker's start. Unarmed (production), a crash
 * point costs one comparison.
 */
import { z } from 'zod';
import { describeIssues } from '../controls-model';
import type { Logger } from '../logger';

export const CRASH_POINTS = [
  /** A page was fetched from the API; its items and cursor are not committed yet. */
  'sync.after_fetch_before_commit',
  /** A page's items and cursor are committed; the page activity has not completed. */
  'sync.after_commit_before_complete',
  /** The provider accepted the message (or call); the store has not recorded it. One per channel. */
  'send.telegram.after_accept',
  'send.sms.after_accept',
  'send.voice.after_accept',
  'send.console.after_accept',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

const envSchema = z
  .object({
    OPS_CRASH_POINT: z.enum(CRASH_POINTS).optional(),
    OPS_CRASH_POINT_SKIP: z.coerce.number().int().min(0).max(1_000_000).default(0),
    OPS_CRASH_POINT_PROBABILITY: z.coerce.number().min(0).max(1).default(1),
  })
  .refine((env) => env.OPS_CRASH_POINT !== undefined || (env.OPS_CRASH_POINT_SKIP === 0 && env.OPS_CRASH_POINT_PROBABILITY === 1), {
    message: 'OPS_CRASH_POINT_SKIP and OPS_CRASH_POINT_PROBABILITY need OPS_CRASH_POINT',
  });

export interface CrashPlan {
  point: CrashPoint;
  skip: number;
  probability: number;
}

/** The plan the environment asks for, or undefined; throws a message naming what is wrong. */
export function parseCrashPlan(env: NodeJS.ProcessEnv): CrashPlan | undefined {
  const blankToUndefined = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());
  const parsed = envSchema.safeParse({
    OPS_CRASH_POINT: blankToUndefined(env.OPS_CRASH_POINT),
    OPS_CRASH_POINT_SKIP: blankToUndefined(env.OPS_CRASH_POINT_SKIP),
    OPS_CRASH_POINT_PROBABILITY: blankToUndefined(env.OPS_CRASH_POINT_PROBABILITY),
  });
  if (!parsed.success) {
    throw new Error(`Invalid crash point settings: ${describeIssues(parsed.error.issues)} (known points: ${CRASH_POINTS.join(', ')})`);
  }
  const { OPS_CRASH_POINT: point, OPS_CRASH_POINT_SKIP: skip, OPS_CRASH_POINT_PROBABILITY: probability } = parsed.data;
  return point ? { point, skip, probability } : undefined;
}

let armed = false;
let plan: CrashPlan | undefined;
let passes = 0;

/**
 * Reads the environment once per process (a worker's start); a later call keeps the first plan.
 * Throws on bad settings, so a typo never runs a worker that would not crash where intended.
 */
export function armCrashPoints(env: NodeJS.ProcessEnv, logger?: Logger): CrashPlan | undefined {
  if (armed) return plan;
  plan = parseCrashPlan(env);
  armed = true;
  if (plan) logger?.warn({ crashPoint: plan }, 'crash point armed: this worker will SIGKILL itself there (tests and chaos only)');
  return plan;
}

/** Dies here if this is the armed point (after its skips, with its probability). */
export function crashPoint(point: CrashPoint): void {
  if (plan?.point !== point) return;
  passes += 1;
  if (passes <= plan.skip || Math.random() >= plan.probability) return;
  // Straight to the kernel: no handler, no flush, nothing of what a crash would not run either.
  process.stderr.write(`crash point ${point}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** crashPoint, for an expression: returns `value` when the process lives on. */
export function crashAfter<T>(point: CrashPoint, value: T): T {
  crashPoint(point);
  return value;
}
