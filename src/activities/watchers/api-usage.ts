/**
 * What the request counters need from the places that call an API: a failed request's outcome
 * (failed, or refused with 429) recorded in its second, for the rate-limit and repeated-failure
 * watchers. The request itself is counted where it always was (countApiCall, in a `finally`).
 */
import type { Kysely } from 'kysely';
import { isRateLimited } from '../../integrations/http';
import { countApiFailure } from '../../store/api-calls';
import type { Database } from '../../store/schema';

/**
 * A `.catch()` for an API call: records the failure, then rethrows the original error. A failed
 * record never hides the call's own error.
 */
export function rethrowCounted(db: Kysely<Database>, service: string | null | undefined, now: () => Date, endpoint?: string) {
  return async (err: unknown): Promise<never> => {
    if (service) await countApiFailure(db, service, now(), { endpoint, throttled: isRateLimited(err) }).catch(() => undefined);
    throw err;
  };
}
