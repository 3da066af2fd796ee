/**
 * Memory items: what the syncs learn. Two ways to change one, as the spec asks:
 * - upsert (raw, inferred data such as CRM records): the current row is updated in place;
 * - supersede (canonical documents): the old row stays, marked superseded by its successor.
 * Either way a key has one current row (a partial unique index), so a re-sync never duplicates.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { auditDecision } from './audit';
import type { Database, MemoryAuthority, MemoryItemsTable } from './schema';
import { isPostgres, writeTransaction } from './tx';

export type MemoryItemRow = Selectable<MemoryItemsTable>;

export interface MemoryWrite {
  key: string;
  value: unknown;
  authority: MemoryAuthority;
  sourceType: string;
  sourceId: string;
}

export interface WriteCounts {
  inserted: number;
  changed: number;
  unchanged: number;
}

const hashOf = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

function rowFor(item: MemoryWrite, at: string) {
  return {
    key: item.key,
    value: JSON.stringify(item.value),
    authority: item.authority,
    source_type: item.sourceType,
    source_id: item.sourceId,
    content_hash: hashOf(item.value),
    version: 1,
    created_at: at,
    updated_at: at,
  };
}

async function currentByKey(db: Kysely<Database>, keys: string[]): Promise<Map<string, MemoryItemRow>> {
  if (keys.length === 0) return new Map();
  const rows = await db
    .selectFrom('memory_items')
    .selectAll()
    .where('key', 'in', keys)
    .where('superseded_at', 'is', null)
    .execute();
  return new Map(rows.map((row) => [row.key, row]));
}

/** Inserts new keys and updates changed ones in place; call inside the page's transaction. */
export async function upsertMemoryItems(db: Kysely<Database>, items: MemoryWrite[], now: Date): Promise<WriteCounts> {
  const at = now.toISOString();
  const existing = await currentByKey(db, [...new Set(items.map((i) => i.key))]);
  const counts: WriteCounts = { inserted: 0, changed: 0, unchanged: 0 };
  const fresh = new Map<string, ReturnType<typeof rowFor>>();
  for (const item of items) {
    const row = rowFor(item, at);
    const old = existing.get(item.key);
    if (!old) {
      // A page can name the same key twice; the later value wins, stored once.
      if (!fresh.has(item.key)) counts.inserted += 1;
      fresh.set(item.key, row);
    } else if (old.content_hash === row.content_hash) {
      counts.unchanged += 1;
    } else {
      counts.changed += 1;
      await db
        .updateTable('memory_items')
        .set({ value: row.value, content_hash: row.content_hash, version: old.version + 1, updated_at: at })
        .where('id', '=', old.id)
        .execute();
      existing.set(item.key, { ...old, content_hash: row.content_hash, version: old.version + 1 });
    }
  }
  if (fresh.size > 0) await db.insertInto('memory_items').values([...fresh.values()]).execute();
  return counts;
}

/**
 * Records new keys; for a changed key the old row is retired (superseded_at, reason) and points
 * at its successor, which carries the next version. Call inside the page's transaction.
 */
export async function supersedeMemoryItems(
  db: Kysely<Database>,
  items: MemoryWrite[],
  reason: string,
  now: Date,
): Promise<WriteCounts> {
  const at = now.toISOString();
  const keys = [...new Set(items.map((i) => i.key))];
  const existing = await currentByKey(db, keys);
  const retired = await retiredByKey(db, keys.filter((k) => !existing.has(k)));
  const counts: WriteCounts = { inserted: 0, changed: 0, unchanged: 0 };
  for (const item of items) {
    const row = rowFor(item, at);
    const old = existing.get(item.key);
    if (old && old.content_hash === row.content_hash) {
      counts.unchanged += 1;
      continue;
    }
    if (old) {
      // Retire first: the unique index allows one current row per key.
      await db
        .updateTable('memory_items')
        .set({ superseded_at: at, superseded_reason: reason, updated_at: at })
        .where('id', '=', old.id)
        .execute();
    }
    // A key that was retired (its page untagged or trashed) and comes back continues its history.
    const before = old ?? retired.get(item.key);
    const inserted = await db
      .insertInto('memory_items')
      .values({ ...row, version: before ? before.version + 1 : 1 })
      .returningAll()
      .executeTakeFirstOrThrow();
    if (before) await db.updateTable('memory_items').set({ superseded_by: inserted.id }).where('id', '=', before.id).execute();
    if (old) counts.changed += 1;
    else counts.inserted += 1;
    retired.delete(item.key);
    existing.set(item.key, inserted);
  }
  return counts;
}

/** Per key, the newest row retired with no successor (see retireMemoryItems). */
async function retiredByKey(db: Kysely<Database>, keys: string[]): Promise<Map<string, MemoryItemRow>> {
  if (keys.length === 0) return new Map();
  const rows = await db
    .selectFrom('memory_items')
    .selectAll()
    .where('key', 'in', keys)
    .where('superseded_at', 'is not', null)
    .where('superseded_by', 'is', null)
    .orderBy('id', 'desc')
    .execute();
  const newest = new Map<string, MemoryItemRow>();
  for (const row of rows) if (!newest.has(row.key)) newest.set(row.key, row);
  return newest;
}

/**
 * Retires the current rows of these keys with no successor: the thing they recorded is gone from
 * its source (a Notion page untagged or trashed). Nothing is deleted; the row stays as history with
 * its reason, and a key that comes back later continues from it. Returns how many were retired.
 */
export async function retireMemoryItems(db: Kysely<Database>, keys: string[], reason: string, now: Date): Promise<number> {
  const unique = [...new Set(keys)];
  if (unique.length === 0) return 0;
  const at = now.toISOString();
  const result = await db
    .updateTable('memory_items')
    .set({ superseded_at: at, superseded_reason: reason, updated_at: at })
    .where('key', 'in', unique)
    .where('superseded_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface MemoryFilter {
  sourceType?: string;
  key?: string;
  /** Superseded rows too (history), oldest first per key. */
  includeSuperseded?: boolean;
  limit?: number;
}

export async function listMemoryItems(db: Kysely<Database>, filter: MemoryFilter = {}): Promise<MemoryItemRow[]> {
  let query = db.selectFrom('memory_items').selectAll().where('archived', '=', 0);
  if (filter.sourceType) query = query.where('source_type', '=', filter.sourceType);
  if (filter.key) query = query.where('key', '=', filter.key);
  if (!filter.includeSuperseded) query = query.where('superseded_at', 'is', null);
  query = query.orderBy('key').orderBy('id');
  return filter.limit ? query.limit(filter.limit).execute() : query.execute();
}

export async function countMemoryItems(db: Kysely<Database>, sourceType: string): Promise<{ current: number; all: number }> {
  const row = await db
    .selectFrom('memory_items')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('all'),
      eb.fn.count<number | string>('id').filterWhere('superseded_at', 'is', null).as('current'),
    ])
    .where('source_type', '=', sourceType)
    .executeTakeFirstOrThrow();
  return { current: Number(row.current), all: Number(row.all) };
}

/** A correction the store cannot take: no current item of that key. Nothing was changed. */
export class MemoryCorrectionError extends Error {
  override readonly name = 'MemoryCorrectionError';
}

export interface MemoryCorrection {
  key: string;
  value: unknown;
  actor: string;
  reason: string;
  now: Date;
}

/**
 * The operator corrects a memory item: its current row is superseded (reason `correction`) by a
 * new one holding `value`, keeping its source so the key's history stays one chain. Never a
 * delete. Audited (memory.correct) in the same transaction. The same value again changes nothing.
 */
export async function correctMemoryItem(
  db: Kysely<Database>,
  correction: MemoryCorrection,
): Promise<{ changed: boolean; previous: MemoryItemRow; current: MemoryItemRow }> {
  return writeTransaction(db, async (tx) => {
    if (isPostgres(tx)) await sql`select id from memory_items where key = ${correction.key} and superseded_at is null for update`.execute(tx);
    const [previous] = (await currentByKey(tx, [correction.key])).values();
    if (!previous) throw new MemoryCorrectionError(`no current memory item with key "${correction.key}"`);
    const counts = await supersedeMemoryItems(
      tx,
      [{ key: previous.key, value: correction.value, authority: previous.authority, sourceType: previous.source_type, sourceId: previous.source_id }],
      'correction',
      correction.now,
    );
    const current = (await currentByKey(tx, [correction.key])).get(correction.key)!;
    const changed = counts.changed === 1;
    if (changed) {
      await auditDecision(tx, {
        action: 'memory.correct',
        actor: correction.actor,
        reason: correction.reason,
        now: correction.now,
        input: { key: correction.key, from: previous.id, to: current.id },
        output: { version: current.version },
      });
    }
    const retired = await tx.selectFrom('memory_items').selectAll().where('id', '=', previous.id).executeTakeFirstOrThrow();
    return { changed, previous: retired, current };
  });
}
