import { expect } from 'vitest';
import { parseWindowRowId } from '../../src/activities/patterns/rate-limit-pressure';
import type { EvidenceRef } from '../../src/activities/patterns/types';
import type { Store } from '../../src/store';

const ID_TABLES = ['incidents', 'agent_audit_log', 'dead_letters', 'memory_items'] as const;

/** Every piece of a pattern's evidence names a row that is really in the store. */
export async function expectEvidenceInStore(store: Store, refs: readonly EvidenceRef[]): Promise<void> {
  expect(refs.length).toBeGreaterThan(0);
  for (const ref of refs) {
    if (ref.table === 'api_request_windows') {
      const key = parseWindowRowId(String(ref.id));
      const row = await store.db
        .selectFrom('api_request_windows')
        .select('at_second')
        .where('at_second', '=', key.atSecond)
        .where('service', '=', key.service)
        .where('endpoint', '=', key.endpoint)
        .executeTakeFirst();
      expect(row, `api_request_windows ${ref.id}`).toBeDefined();
      continue;
    }
    const table = ref.table as (typeof ID_TABLES)[number];
    expect(ID_TABLES).toContain(table);
    const row = await store.db.selectFrom(table).select('id').where('id', '=', Number(ref.id)).executeTakeFirst();
    expect(row, `${ref.table} ${ref.id}`).toBeDefined();
  }
}
