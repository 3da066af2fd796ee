/**
 * The parameters each job accepts on a manual run (`opsctl run JOB --param k=v`, OpsClient.startJob).
 * Pure (zod only), beside jobs.ts: a job that starts reading a parameter declares it here, and
 * every way in refuses the others instead of carrying them silently into the run's history.
 *
 * No job reads a parameter today, so every schema is empty and strict. Values arrive as text from
 * the command line; a declared parameter coerces (z.coerce.number(), a boolean enum) as it needs.
 */
import { z } from 'zod';
import { JOB_NAMES, type JobName } from './jobs';

const none = z.strictObject({});

export const JOB_PARAMS: Readonly<Record<JobName, z.ZodObject>> = Object.fromEntries(
  JOB_NAMES.map((job) => [job, none]),
) as Record<JobName, z.ZodObject>;

/** Bounds on what a run carries in its history, whatever a job declares. */
export const MAX_PARAMS = 20;
export const MAX_PARAM_KEY_LENGTH = 64;
export const MAX_PARAM_VALUE_LENGTH = 1000;

export class InvalidJobParams extends Error {
  override readonly name = 'InvalidJobParams';
}

/** The names a job accepts, for messages. */
export function allowedParams(job: JobName): string[] {
  return Object.keys(JOB_PARAMS[job].shape);
}

/**
 * Checks a run's parameters against its job's schema; returns them parsed (coerced).
 * Throws InvalidJobParams naming the bad key and listing the allowed ones.
 */
export function parseJobParams(job: JobName, params: unknown): Record<string, unknown> {
  if (params === undefined) return {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new InvalidJobParams(`${job}: params must be an object of key/value pairs`);
  }
  const entries = Object.entries(params);
  if (entries.length > MAX_PARAMS) throw new InvalidJobParams(`${job}: at most ${MAX_PARAMS} params, not ${entries.length}`);
  const allowed = allowedParams(job);
  const accepts = allowed.length ? `${job} accepts: ${allowed.join(', ')}` : `${job} takes no params`;
  for (const [key, value] of entries) {
    if (key.length > MAX_PARAM_KEY_LENGTH || !allowed.includes(key)) {
      throw new InvalidJobParams(`unknown param "${shorten(key, MAX_PARAM_KEY_LENGTH)}" for ${job}; ${accepts}`);
    }
    if (typeof value === 'string' && value.length > MAX_PARAM_VALUE_LENGTH) {
      throw new InvalidJobParams(`param "${key}" of ${job} is longer than ${MAX_PARAM_VALUE_LENGTH} characters`);
    }
  }
  const parsed = JOB_PARAMS[job].safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidJobParams(`param "${issue.path.map(String).join('.')}" of ${job}: ${issue.message}; ${accepts}`);
  }
  return parsed.data;
}

/** Keeps a hostile key from filling the terminal; JSON.stringify escapes control characters. */
function shorten(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return JSON.stringify(cut).slice(1, -1);
}
