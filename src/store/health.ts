import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, HealthChecksTable } from './schema';

export type HealthCheckRow = Selectable<HealthChecksTable>;

export async function insertHealthCheck(db: Kysely<Database>, row: Insertable<HealthChecksTable>): Promise<void> {
  await db.insertInto('health_checks').values(row).execute();
}

export async function latestHealthCheck(db: Kysely<Database>): Promise<HealthCheckRow | undefined> {
  return db.selectFrom('health_checks').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
}
