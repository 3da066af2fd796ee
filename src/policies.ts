/**
 * The spec's error categories and what each one means for retries and alerts, in one table.
 * Pure: workflows build their activity retry policy from it, and the activity boundary
 * classifies errors into it.
 */
import type { RetryPolicy } from '@temporalio/common';

export const ERROR_CATEGORIES = [
  'transient',
  'external_api',
  'auth',
  'validation',
  'database',
  'kill_switch',
  'internal',
] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

export type Severity = 'SEV0' | 'SEV1' | 'WARN' | 'INFO';

export interface CategoryPolicy {
  /** Attempts in total, or 'policy' for the configured backoff policy (spec RETRY_POLICY). */
  readonly attempts: number | 'policy';
  /** The API's Retry-After replaces the computed backoff. */
  readonly honoursRetryAfter: boolean;
  /** Raise an alert incident (`<category>_failure`) at the first failure rather than after a streak. */
  readonly alertAtOnce: boolean;
  /** The severity of a failed run's incident: the spec's "Alert Severity" column, as data. */
  readonly severity: FailureSeverity;
}

/**
 * `first` from the first failed run; `persistent` once the job has failed `after` runs in a row
 * (the spec's "INFO -> WARN after 3 failures"). An open incident is never downgraded.
 */
export interface FailureSeverity {
  readonly first: Severity;
  readonly persistent?: { readonly after: number; readonly severity: Severity };
}

export const CATEGORY_POLICIES: Readonly<Record<ErrorCategory, CategoryPolicy>> = {
  transient: { attempts: 'policy', honoursRetryAfter: true, alertAtOnce: false, severity: { first: 'INFO', persistent: { after: 3, severity: 'WARN' } } },
  external_api: { attempts: 'policy', honoursRetryAfter: true, alertAtOnce: false, severity: { first: 'INFO', persistent: { after: 3, severity: 'WARN' } } },
  // "Do not retry, alert immediately": an incident of its own at the first failure, WARN as the
  // spec's table says (the digest carries it; one an hour per type).
  auth: { attempts: 1, honoursRetryAfter: false, alertAtOnce: true, severity: { first: 'WARN' } },
  validation: { attempts: 1, honoursRetryAfter: false, alertAtOnce: false, severity: { first: 'INFO' } },
  // "Retry once, alert if persistent": a failed run has already failed its retry, so it persisted.
  database: { attempts: 2, honoursRetryAfter: false, alertAtOnce: false, severity: { first: 'WARN' } },
  kill_switch: { attempts: 1, honoursRetryAfter: false, alertAtOnce: false, severity: { first: 'INFO' } },
  // Not in the spec's table: a bug of ours, which no retry of the same code heals.
  internal: { attempts: 'policy', honoursRetryAfter: false, alertAtOnce: false, severity: { first: 'WARN' } },
};

/** The severity a failed run of `category` earns when its job has failed `streak` runs in a row (this one included). */
export function failureSeverity(category: ErrorCategory, streak: number): Severity {
  const { first, persistent } = CATEGORY_POLICIES[category].severity;
  return persistent && streak >= persistent.after ? persistent.severity : first;
}

/**
 * Jobs whose failure cannot wait for the digest, whatever the category: the digest and the morning
 * call (a WARN would wait for the very message that failed), and health_monitor (what watches the
 * system is down). Their failed run alerts at this severity at once.
 */
export const JOB_FAILURE_SEVERITY: Readonly<Partial<Record<string, Severity>>> = {
  daily_digest: 'SEV1',
  morning_call: 'SEV1',
  health_monitor: 'SEV1',
};

export interface RetrySettings {
  initialDelayMs: number;
  backoffMultiplier: number;
  maxAttempts: number;
  maxDelayMs: number;
}

export const SPEC_RETRY_POLICY: RetrySettings = {
  initialDelayMs: 2000,
  backoffMultiplier: 2,
  maxAttempts: 5,
  maxDelayMs: 60_000,
};

export function isErrorCategory(value: unknown): value is ErrorCategory {
  return typeof value === 'string' && (ERROR_CATEGORIES as readonly string[]).includes(value);
}

/** The activity retry policy every job activity runs under. */
export function activityRetryPolicy(settings: RetrySettings): RetryPolicy {
  return {
    initialInterval: settings.initialDelayMs,
    backoffCoefficient: settings.backoffMultiplier,
    maximumInterval: settings.maxDelayMs,
    maximumAttempts: settings.maxAttempts,
    nonRetryableErrorTypes: ERROR_CATEGORIES.filter((c) => CATEGORY_POLICIES[c].attempts === 1),
  };
}

/** Whether an error of `category` on attempt `attempt` (1-based) may be tried again. */
export function mayRetry(category: ErrorCategory, attempt: number, settings: RetrySettings): boolean {
  const allowed = CATEGORY_POLICIES[category].attempts;
  const limit = allowed === 'policy' ? settings.maxAttempts : allowed;
  return attempt < limit;
}

/** The spec's calculateBackoff: delay before retry number `attempt` (1-based). */
export function backoffDelayMs(attempt: number, settings: RetrySettings): number {
  const delay = settings.initialDelayMs * Math.pow(settings.backoffMultiplier, Math.max(0, attempt - 1));
  return Math.min(delay, settings.maxDelayMs);
}
