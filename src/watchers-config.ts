/**
 * Thresholds of run_watchers and the production monitors. Defaults are the spec's values
 * ("7. Watchers", "Production Monitoring"); config.ts mounts this at `watchers`.
 */
import { z } from 'zod';
import { JOB_NAMES } from './jobs';

const percent = z.coerce.number().positive().max(10_000);
const positiveInt = z.coerce.number().int().positive();
const minutes = z.coerce.number().int().min(1).max(7 * 24 * 60);

export const watchersConfigSchema = z.strictObject({
  /** 7.1: N or more failures of one action (job, API endpoint, message send) in the window -> WARN. */
  repeatedFailures: z.strictObject({ windowMinutes: minutes.default(30), threshold: positiveInt.default(3) }).prefault({}),
  /** 7.2: an API's use of its documented limit, at the peak of the window -> INFO, WARN; any 429 -> WARN. */
  rateLimits: z
    .strictObject({ windowMinutes: minutes.default(5), infoPercent: percent.default(80), warnPercent: percent.default(95) })
    .prefault({}),
  /** 7.3: API calls in the last hour against the trailing days' mean for that hour of day. */
  costAnomalies: z
    .strictObject({
      baselineDays: z.coerce.number().int().min(1).max(90).default(7),
      /** No alert before this many days of that hour are in the baseline. */
      minBaselineDays: z.coerce.number().int().min(1).max(90).default(3),
      /** Calls under this in the hour never alert (10 calls against a mean of 2 is not a cost). */
      minCalls: positiveInt.default(50),
      infoIncreasePercent: percent.default(200),
      warnIncreasePercent: percent.default(500),
    })
    .prefault({}),
  /** 7.4: the store's mean query time over the window (timed on real queries) -> WARN. */
  performance: z
    .strictObject({ windowMinutes: minutes.default(5), avgMsThreshold: positiveInt.default(1000), minSamples: positiveInt.default(20) })
    .prefault({}),
  /** Production monitoring: a run longer than this -> WARN. Syncs get perPageSeconds for each page they read. */
  longRuns: z
    .strictObject({
      windowMinutes: minutes.default(30),
      defaultSeconds: positiveInt.default(30),
      // Keyed by job name: a misspelt job is refused, not silently ignored.
      perJobSeconds: z.partialRecord(z.enum(JOB_NAMES), positiveInt).default({}),
      perPageSeconds: z.coerce.number().nonnegative().default(2),
    })
    .prefault({}),
  /** Production monitoring: a job's failed share of its runs in the window, once it has minRuns. */
  failureRate: z
    .strictObject({ windowHours: z.coerce.number().int().min(1).max(168).default(24), percent: percent.default(10), minRuns: positiveInt.default(10) })
    .prefault({}),
  /** Production monitoring: the task queue backlog and the open dead letters. */
  queueDepth: z.strictObject({ max: positiveInt.default(100) }).prefault({}),
  /** Production monitoring: the open dead letters grew over the window. */
  deadLetterGrowth: z.strictObject({ windowHours: z.coerce.number().int().min(1).max(168).default(1), minGrowth: positiveInt.default(1) }).prefault({}),
  /** A job not paused that has not succeeded within factor x its cadence plus grace -> WARN. */
  staleness: z.strictObject({ factor: z.coerce.number().min(1).max(100).default(2), graceMinutes: minutes.default(10) }).prefault({}),
});

export type WatchersConfig = z.infer<typeof watchersConfigSchema>;
