import type { Kysely, Selectable } from 'kysely';
import { auditDecision } from './audit';
import type { AddressKind, CommAllowlistTable, Database } from './schema';
import { writeTransaction } from './tx';

export type AllowlistRow = Selectable<CommAllowlistTable>;

interface Who {
  actor: string;
  reason: string;
  now: Date;
}

/** Adds an address; adding one already listed changes nothing and says so. */
export async function addToAllowlist(
  db: Kysely<Database>,
  entry: { kind: AddressKind; address: string; label?: string } & Who,
): Promise<{ added: boolean; row: AllowlistRow }> {
  return writeTransaction(db, async (tx) => {
    const existing = await liveEntry(tx, entry.kind, entry.address);
    if (existing) return { added: false, row: existing };
    const row = await tx
      .insertInto('comm_allowlist')
      .values({
        kind: entry.kind,
        address: entry.address,
        label: entry.label ?? null,
        added_at: entry.now.toISOString(),
        added_by: entry.actor,
        added_reason: entry.reason,
        removed_at: null,
        removed_by: null,
        removed_reason: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await auditChange(tx, 'allowlist.add', entry, row);
    return { added: true, row };
  });
}

/** Takes an address off the list by stamping removed_at; the row stays. */
export async function removeFromAllowlist(
  db: Kysely<Database>,
  entry: { kind: AddressKind; address: string } & Who,
): Promise<AllowlistRow | undefined> {
  return writeTransaction(db, async (tx) => {
    const existing = await liveEntry(tx, entry.kind, entry.address);
    if (!existing) return undefined;
    const row = await tx
      .updateTable('comm_allowlist')
      .set({ removed_at: entry.now.toISOString(), removed_by: entry.actor, removed_reason: entry.reason })
      .where('id', '=', existing.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await auditChange(tx, 'allowlist.remove', entry, row);
    return row;
  });
}

/** An operator's change to the list gets its audit row in the same transaction as the change. */
function auditChange(tx: Kysely<Database>, action: string, who: Who, row: AllowlistRow): Promise<void> {
  return auditDecision(tx, {
    action,
    actor: who.actor,
    reason: who.reason,
    now: who.now,
    input: { kind: row.kind, address: row.address, label: row.label },
    output: { id: row.id },
  });
}

/** Live entries, oldest first; removed ones too when asked for. */
export async function listAllowlist(db: Kysely<Database>, opts: { includeRemoved?: boolean } = {}): Promise<AllowlistRow[]> {
  let query = db.selectFrom('comm_allowlist').selectAll();
  if (!opts.includeRemoved) query = query.where('removed_at', 'is', null);
  return query.orderBy('id').execute();
}

export async function isAllowlisted(db: Kysely<Database>, kind: AddressKind, address: string): Promise<boolean> {
  return (await liveEntry(db, kind, address)) !== undefined;
}

function liveEntry(db: Kysely<Database>, kind: AddressKind, address: string): Promise<AllowlistRow | undefined> {
  return db
    .selectFrom('comm_allowlist')
    .selectAll()
    .where('kind', '=', kind)
    .where('address', '=', address)
    .where('removed_at', 'is', null)
    .executeTakeFirst();
}
