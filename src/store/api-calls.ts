/**
 * Requests to external APIs, counted as they happen: per hour and service (the digest's total),
 * and per second, service and endpoint with their failures and 429s (the watchers' windows).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/** How one request ended, as the caller saw it. */
export interface ApiCallOutcome {
  /** Which of the service's endpoints, where telling them apart matters; '' otherwise. */
  endpoint?: string;
  failed?: boolean;
  /** The service answered HTTP 429. */
  throttled?: boolean;
}

/** Endpoint and service names are ours, but bounded anyway: a key never grows without limit. */
const MAX_NAME_CHARS = 100;

const secondOf = (at: Date): number => Math.floor(at.getTime() / 1000);

/** Counts one request to an external API in its hour, and in its second with how it ended. */
export async function countApiCall(db: Kysely<Database>, service: string, at: Date, outcome: ApiCallOutcome = {}): Promise<void> {
  const hour = at.toISOString().slice(0, 13);
  await db
    .insertInto('api_calls')
    .values({ hour, service, calls: 1 })
    .onConflict((oc) => oc.columns(['hour', 'service']).doUpdateSet({ calls: sql`api_calls.calls + 1` }))
    .execute();
  await addToWindow(db, service, at, { requests: 1, ...flags(outcome) }, outcome.endpoint);
}

/**
 * Records how a request ended when its count was already taken (the caller counts in a
 * `finally`, and learns of the failure in a `catch`): the failure, without a second request.
 */
export async function countApiFailure(db: Kysely<Database>, service: string, at: Date, outcome: ApiCallOutcome): Promise<void> {
  await addToWindow(db, service, at, { requests: 0, ...flags({ failed: true, ...outcome }) }, outcome.endpoint);
}

function flags(outcome: ApiCallOutcome): { throttled: number; failed: number } {
  return { throttled: outcome.throttled ? 1 : 0, failed: outcome.failed || outcome.throttled ? 1 : 0 };
}

async function addToWindow(
  db: Kysely<Database>,
  service: string,
  at: Date,
  add: { requests: number; throttled: number; failed: number },
  endpoint = '',
): Promise<void> {
  await db
    .insertInto('api_request_windows')
    .values({ at_second: secondOf(at), service: service.slice(0, MAX_NAME_CHARS), endpoint: endpoint.slice(0, MAX_NAME_CHARS), ...add })
    .onConflict((oc) =>
      oc.columns(['at_second', 'service', 'endpoint']).doUpdateSet({
        requests: sql`api_request_windows.requests + ${add.requests}`,
        throttled: sql`api_request_windows.throttled + ${add.throttled}`,
        failed: sql`api_request_windows.failed + ${add.failed}`,
      }),
    )
    .execute();
}

/** Requests made in the whole hours from `since`'s hour on. */
export async function apiCallsSince(db: Kysely<Database>, since: Date): Promise<number> {
  const row = await db
    .selectFrom('api_calls')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('calls'), eb.lit(0)).as('n'))
    .where('hour', '>=', since.toISOString().slice(0, 13))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** One second of one service's (and endpoint's) requests. */
export interface ApiSecond {
  atSecond: number;
  service: string;
  endpoint: string;
  requests: number;
  throttled: number;
  failed: number;
}

/** Every recorded second in [from, to): a range of the primary key, whatever the table's size. */
export async function apiSecondsBetween(db: Kysely<Database>, from: Date, to: Date): Promise<ApiSecond[]> {
  const rows = await db
    .selectFrom('api_request_windows')
    .select(['at_second', 'service', 'endpoint', 'requests', 'throttled', 'failed'])
    .where('at_second', '>=', secondOf(from))
    .where('at_second', '<', secondOf(to))
    .orderBy('at_second')
    .execute();
  return rows.map((r) => ({
    atSecond: Number(r.at_second),
    service: r.service,
    endpoint: r.endpoint,
    requests: Number(r.requests),
    throttled: Number(r.throttled),
    failed: Number(r.failed),
  }));
}

/** Requests per service in [from, to), summed in the database (a range of the primary key). */
export async function apiRequestsByService(db: Kysely<Database>, from: Date, to: Date): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('api_request_windows')
    .select((eb) => ['service', eb.fn.sum<number>('requests').as('n')])
    .where('at_second', '>=', secondOf(from))
    .where('at_second', '<', secondOf(to))
    .groupBy('service')
    .execute();
  return new Map(rows.map((r) => [r.service, Number(r.n)]));
}

/** When `service`'s first request was recorded, or undefined (one seek of its index). */
export async function firstApiRequestAt(db: Kysely<Database>, service: string): Promise<Date | undefined> {
  const row = await db
    .selectFrom('api_request_windows')
    .select(['at_second'])
    .where('service', '=', service)
    .orderBy('at_second')
    .limit(1)
    .executeTakeFirst();
  return row ? new Date(Number(row.at_second) * 1000) : undefined;
}
