/**
 * Errors that carry their spec category. Integrations and activities throw these; the activity
 * boundary (classifyError) turns anything thrown into a category exactly once.
 */
import type { ErrorCategory } from './policies';

export class OpsError extends Error {
  constructor(
    message: string,
    readonly category: ErrorCategory,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class TransientError extends OpsError {
  constructor(message: string, opts: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, 'transient', opts.retryAfterMs, opts);
  }
}

export class ExternalApiError extends OpsError {
  constructor(
    message: string,
    readonly status?: number,
    opts: { retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, 'external_api', opts.retryAfterMs, opts);
  }
}

export class AuthError extends OpsError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, 'auth', undefined, opts);
  }
}

export class ValidationError extends OpsError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, 'validation', undefined, opts);
  }
}

export class DatabaseError extends OpsError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, 'database', undefined, opts);
  }
}

/**
 * The store could not be reached in time: SQLite stayed locked by another process past the
 * wait bound, or no PostgreSQL connection could be had. Category database, like any store error.
 */
export class StoreUnavailableError extends DatabaseError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(`Store unavailable: ${message}`, opts);
  }
}

export class KillSwitchActive extends OpsError {
  constructor() {
    super('Kill switch is active', 'kill_switch');
  }
}

export interface Classified {
  category: ErrorCategory;
  message: string;
  retryAfterMs?: number;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/** Parses an HTTP Retry-After header (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null | undefined, now: Date = new Date()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** Maps an HTTP status to its category; undefined for success codes. */
export function categoryForStatus(status: number): ErrorCategory | undefined {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'external_api';
  if (status === 408 || status >= 500) return 'transient';
  if (status >= 400) return 'external_api';
  return undefined;
}

export function classifyError(err: unknown): Classified {
  if (err instanceof OpsError) {
    return { category: err.category, message: err.message, retryAfterMs: err.retryAfterMs };
  }
  const e = err as { code?: unknown; status?: unknown; statusCode?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && NETWORK_CODES.has(code)) return { category: 'transient', message };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return { category: 'transient', message };
  if (code?.startsWith('SQLITE_') || e?.name === 'SqliteError') return { category: 'database', message };
  // node-postgres server errors carry a five-character SQLSTATE code.
  if (code && /^[0-9A-Z]{5}$/.test(code) && 'severity' in (err as object)) return { category: 'database', message };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  const byStatus = status === undefined ? undefined : categoryForStatus(status);
  if (byStatus) return { category: byStatus, message };
  if (e?.name === 'ZodError') return { category: 'validation', message };
  if (message === 'fetch failed' && e?.cause) return { ...classifyError(e.cause), message };
  return { category: 'internal', message };
}
