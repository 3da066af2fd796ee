/**
 * Sync state of the data sources (the spec's data_source_sync) and the lease that lets one run
 * at a time sync a source. A run commits page by page; each commit is fenced by the row's
 * version, so a retried or zombie attempt built on a stale read writes nothing.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DataSourceSyncTable, Database, SourceName } from './schema';
import { isPostgres, writeTransaction } from './tx';

export type SourceSyncRow = Selectable<DataSourceSyncTable>;

export async function getSourceSync(db: Kysely<Database>, source: SourceName): Promise<SourceSyncRow | undefined> {
  return db.selectFrom('data_source_sync').selectAll().where('source_name', '=', source).executeTakeFirst();
}

export async function listSourceSync(db: Kysely<Database>): Promise<SourceSyncRow[]> {
  return db.selectFrom('data_source_sync').selectAll().orderBy('source_name').execute();
}

/** Reads the row inside a write transaction, creating it first, locked against other writers. */
async function lockRow(tx: Kysely<Database>, source: SourceName, now: Date): Promise<SourceSyncRow> {
  await tx
    .insertInto('data_source_sync')
    .values({ source_name: source, status: 'idle', updated_at: now.toISOString() })
    .onConflict((oc) => oc.column('source_name').doNothing())
    .execute();
  let query = tx.selectFrom('data_source_sync').selectAll().where('source_name', '=', source);
  // SQLite needs no row lock: writeTransaction holds the database's single write lock.
  if (isPostgres(tx)) query = query.forUpdate();
  return query.executeTakeFirstOrThrow();
}

export type ClaimResult =
  | { status: 'claimed'; resumed: boolean; row: SourceSyncRow }
  | { status: 'busy'; holder: string; row: SourceSyncRow }
  /** Synced successfully less than minIntervalMs ago: not claimed (the source's own limit, e.g. n8n's 30 min). */
  | { status: 'recent'; lastSyncAt: string; row: SourceSyncRow };

export interface ClaimRequest {
  source: SourceName;
  /** The workflow that will run the sync. */
  holder: string;
  now: Date;
  leaseMs: number;
  /** The cursor a fresh run starts from, given the watermark the last completed run left. */
  startCursor(watermark: string | null): string;
  /** A fresh run is refused this soon after the last successful one (0 or absent: never). */
  minIntervalMs?: number;
}

/**
 * Takes the source's lease for a run. An unfinished cursor (a run that failed, was stopped, or
 * whose worker died) is resumed, never restarted: what it committed stays committed.
 */
export async function claimSourceSync(db: Kysely<Database>, req: ClaimRequest): Promise<ClaimResult> {
  return writeTransaction(db, async (tx) => {
    const row = await lockRow(tx, req.source, req.now);
    const at = req.now.toISOString();
    const heldByOther =
      row.status === 'running' && row.lease_holder !== req.holder && (row.lease_expires_at ?? '') > at;
    if (heldByOther) return { status: 'busy', holder: row.lease_holder ?? 'unknown', row };
    const continuing = row.status === 'running' && row.lease_holder === req.holder;
    const resumed = row.cursor !== null;
    // Decided under the row's lock, so of two jobs claiming at once the second sees the first's
    // completed run. An unfinished cursor is always resumed: the interval is between fresh runs.
    const recentSince = new Date(req.now.getTime() - (req.minIntervalMs ?? 0)).toISOString();
    if (!continuing && !resumed && row.last_outcome === 'succeeded' && row.last_sync_completed_at !== null && row.last_sync_completed_at > recentSince) {
      return { status: 'recent', lastSyncAt: row.last_sync_completed_at, row };
    }
    const updated = await tx
      .updateTable('data_source_sync')
      .set({
        status: 'running',
        lease_holder: req.holder,
        lease_expires_at: new Date(req.now.getTime() + req.leaseMs).toISOString(),
        cursor: resumed ? row.cursor : req.startCursor(row.watermark),
        run_items: resumed ? row.run_items : 0,
        run_pages: resumed ? row.run_pages : 0,
        last_sync_started_at: continuing ? row.last_sync_started_at : at,
        version: row.version + 1,
        updated_at: at,
      })
      .where('source_name', '=', req.source)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { status: 'claimed', resumed: resumed && !continuing, row: updated };
  });
}

export interface PageCommit {
  source: SourceName;
  holder: string;
  /** The version the page was fetched at. */
  readVersion: number;
  now: Date;
  leaseMs: number;
  /** The cursor after this page; null when this page was the last. */
  nextCursor: string | null;
  /** On the last page: where the next run starts. */
  watermark?: string | null;
  items: number;
  /** Writes the page's items (and anything else the page implies) in the same transaction. */
  apply(tx: Kysely<Database>): Promise<void>;
}

export type CommitResult = { committed: true; row: SourceSyncRow } | { committed: false; row: SourceSyncRow };

/** Commits one page: its items, the cursor and the counters together, or nothing at all. */
export async function commitSourcePage(db: Kysely<Database>, page: PageCommit): Promise<CommitResult> {
  return writeTransaction(db, async (tx) => {
    const row = await lockRow(tx, page.source, page.now);
    const current = row.status === 'running' && row.lease_holder === page.holder && row.version === page.readVersion;
    if (!current) return { committed: false, row };
    await page.apply(tx);
    const at = page.now.toISOString();
    const last = page.nextCursor === null;
    const runItems = row.run_items + page.items;
    const runPages = row.run_pages + 1;
    const done = last
      ? {
          status: 'idle' as const,
          last_sync_completed_at: at,
          last_sync_success: 1,
          last_outcome: 'succeeded' as const,
          items_synced: runItems,
          pages_synced: runPages,
          watermark: page.watermark ?? row.watermark,
          consecutive_failures: 0,
          last_error: null,
          last_error_category: null,
        }
      : {};
    const updated = await tx
      .updateTable('data_source_sync')
      .set({
        cursor: page.nextCursor,
        run_items: runItems,
        run_pages: runPages,
        version: row.version + 1,
        lease_expires_at: new Date(page.now.getTime() + page.leaseMs).toISOString(),
        updated_at: at,
        ...done,
      })
      .where('source_name', '=', page.source)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { committed: true, row: updated };
  });
}

export interface SyncRelease {
  source: SourceName;
  holder: string;
  now: Date;
  /** paused: stopped early on purpose (a page budget); counts as a success, cursor kept. */
  outcome: 'failed' | 'skipped' | 'paused';
  error?: string;
  category?: string;
}

/**
 * Ends a run that did not finish: the lease is released, the cursor kept for the next run.
 * Returns the row after the release (unchanged when the run no longer held the lease).
 */
export async function releaseSourceSync(db: Kysely<Database>, release: SyncRelease): Promise<SourceSyncRow> {
  return writeTransaction(db, async (tx) => {
    const row = await lockRow(tx, release.source, release.now);
    if (row.status !== 'running' || row.lease_holder !== release.holder) return row;
    const failed = release.outcome === 'failed';
    const paused = release.outcome === 'paused';
    return tx
      .updateTable('data_source_sync')
      .set({
        status: 'idle',
        last_outcome: release.outcome === 'paused' ? 'succeeded' : release.outcome,
        ...(paused ? { last_sync_success: 1, consecutive_failures: 0, last_error: null, last_error_category: null } : {}),
        ...(failed
          ? {
              last_sync_success: 0,
              consecutive_failures: sql<number>`consecutive_failures + 1`,
              last_error: release.error ?? null,
              last_error_category: release.category ?? null,
            }
          : {}),
        version: row.version + 1,
        updated_at: release.now.toISOString(),
      })
      .where('source_name', '=', release.source)
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}
