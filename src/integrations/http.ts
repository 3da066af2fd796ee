/**
 * What every API client shares: HTTP failures mapped to the spec's error categories, and
 * response bodies checked against a zod schema before anything is written.
 */
import type { z } from 'zod';
import { describeIssues } from '../controls-model';
import { REDACTED } from '../notifications/redact';
import { AuthError, categoryForStatus, ExternalApiError, parseRetryAfter, TransientError, ValidationError, type OpsError } from '../errors';

/** An HTTP failure as the error of its category (categoryForStatus), its Retry-After kept. */
export function httpFailure(service: string, status: number, detail: string, retryAfter?: string | null): OpsError {
  const message = `${service} answered HTTP ${status}${detail ? `: ${truncate(detail, 300)}` : ''}`;
  const category = categoryForStatus(status) ?? 'external_api';
  if (category === 'auth') return new AuthError(message);
  if (category === 'transient') return new TransientError(message, { retryAfterMs: parseRetryAfter(retryAfter) });
  // A 429 always waits: its Retry-After, else a second.
  return new ExternalApiError(message, status, status === 429 ? { retryAfterMs: parseRetryAfter(retryAfter) ?? 1000 } : {});
}

/** Parses a response against its schema; a mismatch names the first bad fields and their path. */
export function parseResponse<S extends z.ZodType>(service: string, schema: S, data: unknown): z.infer<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new ValidationError(`${service} response failed validation: ${describeIssues(parsed.error.issues.slice(0, 3))}`);
}

/** JSON from a fetch response, with a failure in the body's place classified as validation. */
export async function readJson(service: string, response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError(`${service} response is not JSON: ${truncate(text, 120)}`);
  }
}

/** A header from a fetch Headers object or a plain record (SDKs expose either). */
export function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') return (get.call(headers, name) as string | null) ?? undefined;
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase());
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}

/**
 * An error response's detail: what `describe` makes of a body matching `schema`, else the raw
 * text. `secret` never survives, in case a server echoes the request back.
 */
export function errorDetail<S extends z.ZodType>(
  text: string,
  schema: S,
  describe: (body: z.infer<S>) => string | undefined,
  secret: string,
): string {
  let detail = text;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    if (parsed.success) detail = describe(parsed.data) ?? text;
  } catch {
    // Not JSON: the raw text is the detail.
  }
  return secret ? detail.split(secret).join(REDACTED) : detail;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Whether a failed request was the API refusing for its rate limit (HTTP 429), as httpFailure maps it. */
export function isRateLimited(err: unknown): boolean {
  return err instanceof ExternalApiError && err.status === 429;
}
