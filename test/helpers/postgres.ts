import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Every schema this test run creates starts with `ops_test_<run>_`. The global set-up sets the run id
 * before any test process starts; a test file run on its own makes one of its own.
 */
const RUN_ID_ENV = 'OPS_TEST_PG_RUN';

export function testRunId(): string {
  process.env[RUN_ID_ENV] ??= randomBytes(4).toString('hex');
  return process.env[RUN_ID_ENV];
}

/** A fresh schema name for one store of this run. */
export function testSchemaName(label: string): string {
  return `ops_test_${testRunId()}_${label}_${randomBytes(4).toString('hex')}`;
}

/**
 * Drops every schema of this test run, once no test runs any more. Never during the run: Kysely's
 * Migrator lists the tables of every schema (pg_get_serial_sequence on each), and a schema dropped
 * by another suite in the middle of that listing fails the migration with "schema ... does not exist".
 */
export async function dropTestRunSchemas(runId: string): Promise<number> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(`select nspname from pg_namespace where nspname like $1`, [`ops\\_test\\_${runId}\\_%`]);
    for (const { nspname } of rows) await client.query(`drop schema if exists "${nspname}" cascade`);
    return rows.length;
  } finally {
    await client.end();
  }
}
