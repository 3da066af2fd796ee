import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { migrateToLatest, openStore, type Store } from '../../src/store';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs the suite once on a fresh SQLite file and once on a fresh PostgreSQL schema. */
export function forEachStore(suite: (store: () => Store) => void): void {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    describe(dialect, () => {
      let store: Store;
      beforeAll(async () => {
        store = await openTestStore(dialect);
        await migrateToLatest(store);
      });
      afterAll(async () => {
        await store.close();
      });
      suite(() => store);
    });
  }
}

export async function openTestStore(dialect: 'sqlite' | 'postgres'): Promise<Store> {
  if (dialect === 'sqlite') {
    return openStore({ sqlitePath: join(mkdtempSync(join(tmpdir(), 'ops-store-')), 'ops.sqlite') });
  }
  const schema = `ops_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  return openStore({ databaseUrl: TEST_DATABASE_URL, sqlitePath: '', pgSchema: schema });
}
