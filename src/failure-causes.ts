/**
 * What an error chain says about its cause, for the two places that turn failures into answers
 * for people: opsctl's exit codes (cli/errors.ts) and the HTTP API's statuses (http/errors.ts).
 */
import { ApplicationFailure, isGrpcServiceError } from '@temporalio/client';

const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

/** The Update failed because the store was down (the activity boundary classified it `database`). */
export function storeUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ApplicationFailure && e.type === 'database') return true;
  }
  return false;
}

export function innermostMessage(err: Error): string {
  let e: Error = err;
  for (let depth = 0; e.cause instanceof Error && depth < 5; depth++) e = e.cause;
  return e.message;
}

/** Temporal did not answer (unavailable, or the call's deadline passed). */
export function lostTemporal(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isGrpcServiceError(e) && (e.code === UNAVAILABLE || e.code === DEADLINE_EXCEEDED)) return true;
  }
  return false;
}
