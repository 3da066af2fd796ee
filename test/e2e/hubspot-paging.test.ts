/**
 * HubSpot contacts are paged by keyset (from the newest instant reached), not by offset: a
 * contact modified while a sync runs moves to the end of the search's order, and no other contact
 * is skipped for it; contacts sharing one instant are neither lost nor read forever.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubspotAdapter } from '../../src/activities/sources/hubspot';
import { countMemoryItems, getSourceSync, listMemoryItems } from '../../src/store';
import { HubSpotFake, type ContactSeed } from '../fakes';
import { startSystem, type TestSystem } from '../helpers/system';

const FAST_PAGES = { pageTimeoutMs: 10_000 };

/** The tests below reason about page boundaries at 100 a page (the default is HubSpot's maximum, 200). */
function withHubSpot(contacts: ContactSeed[], pageSize?: number) {
  const fake = new HubSpotFake({ contacts, rateLimit: false });
  const ctx = { fake, sys: undefined as unknown as TestSystem };
  beforeAll(async () => {
    const url = await fake.start();
    ctx.sys = await startSystem({ config: { sources: { ...FAST_PAGES, hubspot: { token: fake.token, baseUrl: url, pageSize: pageSize ?? 100 } } } });
  });
  afterAll(async () => {
    await ctx.sys.close();
    await fake.close();
  });
  return ctx;
}

/** Every contact 1..count stored exactly once as a current item. */
async function expectEachStoredOnce(sys: TestSystem, count: number): Promise<void> {
  const items = await listMemoryItems(sys.store.db, { sourceType: 'hubspot' });
  expect(items.map((i) => i.key).sort()).toEqual(Array.from({ length: count }, (_, i) => `hubspot.contact.${i + 1}`).sort());
}

/** Contacts `from`..`to` (1-based ids) all modified at `atMs`. */
function sharingOneInstant(contacts: ContactSeed[], from: number, to: number, atMs: number): ContactSeed[] {
  const at = new Date(atMs).toISOString();
  return contacts.map((c) => (Number(c.id) >= from && Number(c.id) <= to ? { ...c, lastModified: at } : c));
}

describe('HubSpot: contacts modified while a sync runs (SQLite)', () => {
  const ctx = withHubSpot(HubSpotFake.generateContacts(350));

  it('a contact of page 1 modified before page 2 comes again at the end, and no other contact is skipped', async () => {
    const { fake, sys } = ctx;
    // After page 1 (contacts 1-100), contact 50 and the boundary contact 100 are modified: by
    // offset, page 2 would start at contact 103, and 101 and 102 would never be read.
    fake.onSearch = (n) => {
      if (n !== 2) return;
      fake.touch('50', '2026-06-01T00:00:00.000Z', { email: 'moved@example.com' });
      fake.touch('100', '2026-06-01T00:00:01.000Z', { firstname: 'Boundary' });
    };
    const result = await sys.ops.runJob('sync_hubspot');
    fake.onSearch = undefined;
    expect(result.outcome).toBe('succeeded');
    await expectEachStoredOnce(sys, 350);
    expect(result.output).toMatchObject({ pages: 4, items: 352 }); // 50 and 100 twice
    expect(await countMemoryItems(sys.store.db, 'hubspot')).toEqual({ current: 350, all: 350 });
    const [fifty] = await listMemoryItems(sys.store.db, { key: 'hubspot.contact.50' });
    expect(fifty).toMatchObject({ version: 2 });
    expect(JSON.parse(fifty!.value)).toMatchObject({ properties: { email: 'moved@example.com' } });
    const [hundred] = await listMemoryItems(sys.store.db, { key: 'hubspot.contact.100' });
    expect(JSON.parse(hundred!.value)).toMatchObject({ properties: { firstname: 'Boundary' } });
    expect(await getSourceSync(sys.store.db, 'hubspot')).toMatchObject({ status: 'idle', cursor: null });

    // The next run starts at the newest instant read: contact 100 only, upserted unchanged.
    const again = await sys.ops.runJob('sync_hubspot');
    expect(again).toMatchObject({ outcome: 'succeeded', output: { pages: 1, items: 1 } });
    expect(await countMemoryItems(sys.store.db, 'hubspot')).toEqual({ current: 350, all: 350 });
  });

  it('a cursor of the offset shape (a sync in flight before the upgrade) is read from its start, not rejected', async () => {
    const { sys } = ctx;
    // The sync engine paces its pages to the search limit (5 a second); this calls the adapter
    // directly, right after the test above's syncs used this second's searches: let it pass.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const page = await hubspotAdapter(sys.config).fetchPage(JSON.stringify({ sinceMs: 0, after: '200', maxMs: 0 }), new Date());
    expect(page.items).toBe(100);
    // The first 100 by time, from the start: 1-49, 51-99, 101 and 102 (50 and 100 moved above).
    const next = JSON.parse(page.nextCursor!) as Record<string, unknown>;
    expect(next).not.toHaveProperty('after');
    expect(next).toMatchObject({ sinceMs: Date.parse('2026-01-01T00:01:42.000Z'), seen: ['102'] });
  });
});

describe('HubSpot: contacts sharing one lastmodifieddate across a page boundary (SQLite)', () => {
  const start = Date.parse('2026-01-01T00:00:00.000Z');
  // 150 contacts (51-200) modified in the same millisecond: pages 1 and 2 end inside them.
  const ctx = withHubSpot(sharingOneInstant(HubSpotFake.generateContacts(250), 51, 200, start + 51_000));

  it('more ties than ids it will send to leave out: paged by id, every contact once, and the sync ends', async () => {
    const { fake, sys } = ctx;
    // During the paging by id, a tie already read (60) is modified: it leaves the instant and
    // is read again later; its leaving shifts no other tie out of reach.
    fake.onSearch = (n) => {
      if (n === 3) fake.touch('60', '2026-06-01T00:00:00.000Z', { lastname: 'Moved' });
    };
    const result = await sys.ops.runJob('sync_hubspot');
    fake.onSearch = undefined;
    expect(result).toMatchObject({ outcome: 'succeeded', output: { items: 251 } });
    await expectEachStoredOnce(sys, 250);
    expect(await countMemoryItems(sys.store.db, 'hubspot')).toEqual({ current: 250, all: 250 });
    const [sixty] = await listMemoryItems(sys.store.db, { key: 'hubspot.contact.60' });
    expect(JSON.parse(sixty!.value)).toMatchObject({ properties: { lastname: 'Moved' } });
    expect(await getSourceSync(sys.store.db, 'hubspot')).toMatchObject({ status: 'idle', cursor: null });
  });

  it('a few ties across the boundary: left out by id, no page spent on them', async () => {
    const { fake, sys } = ctx;
    // All 250 modified again, later: 30 of them (81-110) in one millisecond, across page 1's end.
    const later = Date.parse('2026-07-01T00:00:00.000Z');
    for (let i = 1; i <= 250; i++) fake.touch(String(i), new Date(later + (i >= 81 && i <= 110 ? 81_000 : i * 1000)).toISOString());
    const before = fake.requests.length;
    const result = await sys.ops.runJob('sync_hubspot');
    expect(result).toMatchObject({ outcome: 'succeeded', output: { pages: 3, items: 250 } });
    expect(fake.requests.length - before).toBe(3);
    await expectEachStoredOnce(sys, 250);
    const items = await listMemoryItems(sys.store.db, { sourceType: 'hubspot' });
    expect(items.filter((i) => i.version === 1)).toHaveLength(0);
  });
});

describe('HubSpot: more than 10,000 contacts in one millisecond (SQLite)', () => {
  // Search pages through at most 10,000 results of one query; paging the ties by id never asks
  // past the first page of a query.
  const ctx = withHubSpot(sharingOneInstant(HubSpotFake.generateContacts(10_050), 1, 10_020, Date.parse('2026-01-01T00:00:05.000Z')), 200);

  it('are all read, once each', async () => {
    const { fake, sys } = ctx;
    const result = await sys.ops.runJob('sync_hubspot');
    expect(result).toMatchObject({ outcome: 'succeeded', output: { items: 10_050 } });
    expect(fake.requests.every((r) => (r.body as { after?: string }).after === undefined)).toBe(true);
    expect(await countMemoryItems(sys.store.db, 'hubspot')).toEqual({ current: 10_050, all: 10_050 });
  });
});
