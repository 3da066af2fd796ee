import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/** Counts one request to an external API in its hour. */
export async function countApiCall(db: Kysely<Database>, service: string, at: Date): Promise<void> {
  const hour = at.toISOString().slice(0, 13);
  await db
    .insertInto('api_calls')
    .values({ hour, service, calls: 1 })
    .onConflict((oc) => oc.columns(['hour', 'service']).doUpdateSet({ calls: sql`api_calls.calls + 1` }))
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
