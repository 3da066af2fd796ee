import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { TEST_DATABASE_URL, testSchemaName } from '../helpers/postgres';
import { afterAll, beforeAll, describe } from 'vitest';
import { migrateToLatest, openStore, type Dialect, type Store } from '../../src/store';

export { TEST_DATABASE_URL } from '../helpers/postgres';

export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

/** Every migration, in order: written out, so adding one is a deliberate change to this list. */
export const ALL_MIGRATIONS = [
  '001_ops_core',
  '002_data_syncs',
  '003_notifications',
  '004_append_only',
  '005_incident_lifecycle',
  '006_api_request_windows',
  '007_watcher_indexes',
  '008_proposals',
] as const;

/** A store on a throwaway SQLite file or PostgreSQL schema; dispose() closes it (and removes the file). */
export interface TestStore {
  store: Store;
  /** The SQLite file, or the PostgreSQL schema. */
  location: string;
  dispose(): Promise<void>;
}

export async function openTestStore(dialect: Dialect): Promise<TestStore> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ops-store-'));
    const file = join(dir, 'ops.sqlite');
    const store = await openStore({ sqlitePath: file });
    return {
      store,
      location: file,
      dispose: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = testSchemaName('store');
  const store = await openStore({ databaseUrl: TEST_DATABASE_URL, sqlitePath: '', pgSchema: schema });
  return {
    store,
    location: schema,
    // The schema itself is dropped when the whole run ends (test/helpers/postgres.ts says why).
    dispose: () => store.close(),
  };
}



/**
 * Runs the suite once on a fresh, migrated SQLite file and once on a fresh, migrated PostgreSQL
 * schema; both are removed afterwards. Tests in one suite share the store, so each uses its own keys.
 */
export function forEachStore(suite: (store: () => Store, dialect: Dialect) => void): void {
  for (const dialect of DIALECTS) {
    describe(dialect, () => {
      let handle: TestStore | undefined;
      beforeAll(async () => {
        handle = await openTestStore(dialect);
        await migrateToLatest(handle.store);
      });
      afterAll(async () => {
        await handle?.dispose();
      });
      suite(() => {
        if (!handle) throw new Error('store not open yet: use it inside a test or hook');
        return handle.store;
      }, dialect);
    });
  }
}

export async function countRows(store: Store, table: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(store.db);
  return Number(rows[0]!.n);
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const DAY = 24 * 3600_000;
