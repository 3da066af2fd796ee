/** The sync lease and the fenced page commit, on both dialects. */
import { expect, it } from 'vitest';
import { claimSourceSync, commitSourcePage, getSourceSync, releaseSourceSync } from '../../src/store';
import { countRows, forEachStore } from './fixtures';

const T0 = new Date('2026-03-01T00:00:00.000Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const LEASE = 60_000;
const start = () => '{"page":0}';

/** jsonb (PostgreSQL) reformats JSON text; compare values. */
const parsed = <T extends { cursor: string | null; watermark?: string | null }>(row: T) => ({
  ...row,
  cursor: row.cursor === null ? null : (JSON.parse(row.cursor) as unknown),
  ...(row.watermark ? { watermark: JSON.parse(row.watermark) as unknown } : {}),
});

forEachStore((store) => {
  const db = () => store().db;
  const page = (holder: string, readVersion: number, now: Date, nextCursor: string | null) =>
    commitSourcePage(db(), {
      source: 'hubspot',
      holder,
      readVersion,
      now,
      leaseMs: LEASE,
      nextCursor,
      watermark: '{"sinceMs":5}',
      items: 1,
      apply: (tx) =>
        tx
          .insertInto('memory_items')
          .values({ key: `k.${holder}.${readVersion}`, value: '{}', authority: 'inferred', source_type: 'test', source_id: '1', content_hash: 'h', version: 1, created_at: T0.toISOString(), updated_at: T0.toISOString() })
          .execute()
          .then(() => undefined),
    });

  it('a live lease makes a second run busy; an expired one is taken over, resuming the cursor', async () => {
    const first = await claimSourceSync(db(), { source: 'hubspot', holder: 'run-a', now: T0, leaseMs: LEASE, startCursor: start });
    expect(first).toMatchObject({ status: 'claimed', resumed: false });
    expect(parsed(first.row)).toMatchObject({ status: 'running', cursor: { page: 0 } });
    const busy = await claimSourceSync(db(), { source: 'hubspot', holder: 'run-b', now: later(1000), leaseMs: LEASE, startCursor: start });
    expect(busy).toMatchObject({ status: 'busy', holder: 'run-a' });
    const taken = await claimSourceSync(db(), { source: 'hubspot', holder: 'run-b', now: later(LEASE + 1), leaseMs: LEASE, startCursor: () => '{"page":99}' });
    expect(taken).toMatchObject({ status: 'claimed', resumed: true });
    expect(parsed(taken.row)).toMatchObject({ lease_holder: 'run-b', cursor: { page: 0 } });
  });

  it('a commit from a stale read or a run that lost the lease writes nothing', async () => {
    const row = (await getSourceSync(db(), 'hubspot'))!;
    const rowsBefore = await countRows(store(), 'memory_items');
    expect((await page('run-a', row.version, later(LEASE + 2), '{"page":1}')).committed).toBe(false);
    expect((await page('run-b', row.version - 1, later(LEASE + 2), '{"page":1}')).committed).toBe(false);
    expect(await countRows(store(), 'memory_items')).toBe(rowsBefore);

    const ok = await page('run-b', row.version, later(LEASE + 2), '{"page":1}');
    expect(ok.committed).toBe(true);
    expect(parsed(ok.row)).toMatchObject({ cursor: { page: 1 }, run_pages: 1, run_items: 1, version: row.version + 1 });
    // The same read again (a retried attempt that already committed): refused, not doubled.
    expect((await page('run-b', row.version, later(LEASE + 3), '{"page":2}')).committed).toBe(false);
    expect(await countRows(store(), 'memory_items')).toBe(rowsBefore + 1);
  });

  it('a failed run releases the lease and keeps its cursor; the last page completes the run', async () => {
    const failed = await releaseSourceSync(db(), { source: 'hubspot', holder: 'run-b', now: later(LEASE + 4), outcome: 'failed', error: 'boom', category: 'transient' });
    expect(parsed(failed)).toMatchObject({ status: 'idle', last_outcome: 'failed', consecutive_failures: 1, last_error: 'boom', cursor: { page: 1 } });
    const resumed = await claimSourceSync(db(), { source: 'hubspot', holder: 'run-c', now: later(LEASE + 5), leaseMs: LEASE, startCursor: start });
    expect(resumed).toMatchObject({ status: 'claimed', resumed: true });
    expect(parsed(resumed.row)).toMatchObject({ cursor: { page: 1 }, run_pages: 1 });
    const last = await page('run-c', resumed.row.version, later(LEASE + 6), null);
    expect(parsed(last.row)).toMatchObject({
      status: 'idle',
      cursor: null,
      watermark: { sinceMs: 5 },
      last_outcome: 'succeeded',
      consecutive_failures: 0,
      items_synced: 2,
      pages_synced: 2,
    });
  });
});
