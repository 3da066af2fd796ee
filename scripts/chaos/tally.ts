/** What a chaos scenario counts: items expected, lost and duplicated, from the store and the fakes. */
import { countMemoryItems, getSourceSync, listAttempts, listMemoryItems, listNotifications, type Store } from '../../src/store';
import type { SourceName } from '../../src/sources';

export interface Tally {
  expected: number;
  lost: number;
  duplicated: number;
  /** What explains a non-zero count. */
  detail: string[];
}

export const emptyTally = (): Tally => ({ expected: 0, lost: 0, duplicated: 0, detail: [] });

export function addTally(into: Tally, more: Tally): Tally {
  return {
    expected: into.expected + more.expected,
    lost: into.lost + more.lost,
    duplicated: into.duplicated + more.duplicated,
    detail: [...into.detail, ...more.detail],
  };
}

/**
 * A source synced into memory items: lost = expected keys missing; duplicated = rows beyond one
 * per key, plus items the sync counted beyond the expected (a page applied twice).
 */
export async function tallySource(store: Store, source: SourceName, expected: number): Promise<Tally> {
  const items = await listMemoryItems(store.db, { sourceType: source, includeSuperseded: true });
  const keys = new Set(items.map((i) => i.key)).size;
  const { all } = await countMemoryItems(store.db, source);
  const state = await getSourceSync(store.db, source);
  const lost = Math.max(0, expected - keys);
  const extraRows = all - keys;
  const overCounted = state && state.status === 'idle' ? Math.max(0, state.items_synced - expected) : 0;
  const detail: string[] = [];
  if (lost) detail.push(`${source}: ${lost} of ${expected} items missing (sync ${state?.status ?? 'never ran'})`);
  if (extraRows) detail.push(`${source}: ${extraRows} extra item rows`);
  if (overCounted) detail.push(`${source}: the sync counted ${state!.items_synced} items for ${expected}`);
  return { expected, lost, duplicated: extraRows + overCounted, detail };
}

/**
 * One message that had to go out: lost when the provider never got it and the store does not
 * say `unknown` (a visible maybe); duplicated when the provider got it more than once.
 */
export async function tallySend(store: Store, type: string, delivered: number): Promise<Tally> {
  const [row] = await listNotifications(store.db, { type, limit: 10 });
  const attempts = row ? await listAttempts(store.db, row.id) : [];
  const visible = row !== undefined && (row.status === 'sent' || row.status === 'unknown');
  const lost = delivered === 0 && !(row?.status === 'unknown') ? 1 : !visible ? 1 : 0;
  const duplicated = Math.max(0, delivered - 1) + Math.max(0, attempts.filter((a) => a.outcome === 'sent').length - 1);
  const detail: string[] = [];
  if (lost) detail.push(`${type}: ${row ? `status ${row.status}` : 'no notification'}, delivered ${delivered}`);
  if (duplicated) detail.push(`${type}: delivered ${delivered} times`);
  return { expected: 1, lost, duplicated, detail };
}
