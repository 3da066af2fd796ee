import { describe, expect, it } from 'vitest';
import {
  activityRetryPolicy,
  backoffDelayMs,
  CATEGORY_POLICIES,
  type ERROR_CATEGORIES,
  mayRetry,
  SPEC_RETRY_POLICY,
} from '../../src/policies';
import { configSchema } from '../../src/config';
import {
  AuthError,
  classifyError,
  DatabaseError,
  ExternalApiError,
  parseRetryAfter,
  TransientError,
  ValidationError,
} from '../../src/errors';

describe('retry policy table', () => {
  it("the config's default retry policy is the spec's RETRY_POLICY", () => {
    expect(configSchema.parse({}).retry).toEqual(SPEC_RETRY_POLICY);
    expect(SPEC_RETRY_POLICY).toEqual({ initialDelayMs: 2000, backoffMultiplier: 2, maxAttempts: 5, maxDelayMs: 60_000 });
  });

  it("backoff follows the spec's calculateBackoff: 2 s, 4 s, 8 s, 16 s, ... capped at 60 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelayMs(a, SPEC_RETRY_POLICY))).toEqual([
      2000, 4000, 8000, 16000, 32000, 60000, 60000,
    ]);
  });

  it('the activity retry policy is the spec policy, with never-retried categories non-retryable', () => {
    expect(activityRetryPolicy(SPEC_RETRY_POLICY)).toEqual({
      initialInterval: 2000,
      backoffCoefficient: 2,
      maximumInterval: 60000,
      maximumAttempts: 5,
      nonRetryableErrorTypes: ['auth', 'validation', 'kill_switch'],
    });
  });

  it('attempts per category: transient and external 5, database 2, auth and validation 1', () => {
    const allowed = (category: (typeof ERROR_CATEGORIES)[number]) => {
      let attempt = 1;
      while (mayRetry(category, attempt, SPEC_RETRY_POLICY)) attempt++;
      return attempt;
    };
    expect(allowed('transient')).toBe(5);
    expect(allowed('external_api')).toBe(5);
    expect(allowed('database')).toBe(2);
    expect(allowed('auth')).toBe(1);
    expect(allowed('validation')).toBe(1);
    expect(CATEGORY_POLICIES.auth.alertAtOnce).toBe(true);
    expect(CATEGORY_POLICIES.external_api.honoursRetryAfter).toBe(true);
  });
});

describe('error classification at the activity boundary', () => {
  it('typed errors keep their category', () => {
    expect(classifyError(new TransientError('x')).category).toBe('transient');
    expect(classifyError(new AuthError('x')).category).toBe('auth');
    expect(classifyError(new ValidationError('x')).category).toBe('validation');
    expect(classifyError(new DatabaseError('x')).category).toBe('database');
    expect(classifyError(new ExternalApiError('x', 429, { retryAfterMs: 3000 }))).toEqual({
      category: 'external_api',
      message: 'x',
      retryAfterMs: 3000,
    });
  });

  it('plain errors are classified by network code, HTTP status and driver', () => {
    const withCode = (code: string) => Object.assign(new Error(code), { code });
    expect(classifyError(withCode('ECONNREFUSED')).category).toBe('transient');
    expect(classifyError(withCode('SQLITE_BUSY')).category).toBe('database');
    expect(classifyError(Object.assign(new Error('pg'), { code: '57P01', severity: 'FATAL' })).category).toBe('database');
    expect(classifyError(Object.assign(new Error('no'), { status: 401 })).category).toBe('auth');
    expect(classifyError(Object.assign(new Error('no'), { status: 403 })).category).toBe('auth');
    expect(classifyError(Object.assign(new Error('slow'), { status: 503 })).category).toBe('transient');
    expect(classifyError(Object.assign(new Error('busy'), { status: 429 })).category).toBe('external_api');
    expect(classifyError(Object.assign(new TypeError('fetch failed'), { cause: withCode('ECONNRESET') })).category).toBe('transient');
    expect(classifyError(new Error('bug')).category).toBe('internal');
  });

  it('Retry-After in seconds or as an HTTP date', () => {
    const now = new Date('2026-11-23T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
