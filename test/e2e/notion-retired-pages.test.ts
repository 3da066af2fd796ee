/**
 * A Notion page that loses its tag, or is trashed, no longer stands as canonical: sync_notion
 * retires its memory item with the reason (the row stays, nothing is deleted), and a page tagged
 * or restored again continues the item's history. Real workflow, the real SDK against the Notion
 * fake, on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTION_RETIRED } from '../../src/activities/sources/notion';
import { NotionSource } from '../../src/integrations/notion';
import { countMemoryItems, listMemoryItems } from '../../src/store';
import { NotionFake } from '../fakes';
import { startSystem, type TestSystem } from '../helpers/system';

const CANONICAL = ['SOP', 'Canonical', 'Final'];

function seedPages() {
  // 12 pages, every third one tagged SOP: 4 canonical.
  return NotionFake.generatePages(12).map((p, i) => ({ ...p, tags: (i + 1) % 3 === 0 ? ['SOP'] : [] }));
}

describe('the Notion fake, as Notion documents search and the trash', () => {
  const notion = new NotionFake({ pages: seedPages(), rateLimit: false });
  let client: NotionSource;
  beforeAll(async () => {
    client = new NotionSource({ token: notion.token, baseUrl: await notion.start(), tagsProperty: 'Tags', timeoutMs: 5000 });
  });
  afterAll(() => notion.close());

  it('search leaves trashed pages out; filter.in_trash returns only them, flagged in_trash', async () => {
    const [first] = notion.pages;
    notion.setInTrash(first!.id, true);
    const live = await client.searchPages(null);
    expect(live.pages.map((p) => p.id)).not.toContain(first!.id);
    expect(live.pages).toHaveLength(11);
    expect(live.trashedIds).toEqual([]);
    const trash = await client.searchPages(null, { inTrash: true });
    expect(trash).toEqual({ pages: [], trashedIds: [first!.id], nextCursor: null });
    const sent = notion.requests.at(-1)!.body as { filter: unknown };
    expect(sent.filter).toEqual({ property: 'object', value: 'page', in_trash: true });
    notion.setInTrash(first!.id, false);
    expect((await client.searchPages(null)).pages).toHaveLength(12);
  });
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`sync_notion retires the items of untagged and trashed pages on ${dialect}`, () => {
    const notion = new NotionFake({ pages: seedPages(), rateLimit: false });
    let sys: TestSystem;
    const canonicalPages = () => notion.pages.filter((p) => p.tags.some((t) => CANONICAL.includes(t)));

    beforeAll(async () => {
      const url = await notion.start();
      sys = await startSystem({ dialect, config: { sources: { pageTimeoutMs: 10_000, notion: { token: notion.token, baseUrl: url } } } });
    });
    afterAll(async () => {
      await sys?.close();
      await notion.close();
    });

    const current = async () => (await listMemoryItems(sys.store.db, { sourceType: 'notion' })).map((i) => i.source_id).sort();
    const history = (id: string) => listMemoryItems(sys.store.db, { key: `notion.page.${id}`, includeSuperseded: true });

    it('a page that loses its tag and a trashed page are retired with their reason; the rows stay', async () => {
      const first = await sys.ops.runJob('sync_notion');
      // The live pass (one request), then the trash (one request).
      expect(first).toMatchObject({ outcome: 'succeeded', output: { pages: 2, items: 4 } });
      const [untag, trash, keep] = canonicalPages();
      expect(await current()).toHaveLength(4);

      notion.editPage(untag!.id, { tags: ['Draft'] });
      notion.setInTrash(trash!.id, true);
      const second = await sys.ops.runJob('sync_notion');
      expect(second.outcome).toBe('succeeded');

      expect(await current()).not.toContain(untag!.id);
      expect(await current()).not.toContain(trash!.id);
      expect(await current()).toContain(keep!.id);
      expect(await current()).toHaveLength(2);
      const [untagged] = await history(untag!.id);
      expect(untagged).toMatchObject({ superseded_reason: NOTION_RETIRED.untagged, superseded_by: null, version: 1, authority: 'canonical' });
      expect(untagged!.superseded_at).not.toBeNull();
      const [trashed] = await history(trash!.id);
      expect(trashed).toMatchObject({ superseded_reason: NOTION_RETIRED.trashed, superseded_by: null, version: 1 });
      // Nothing deleted: all four rows are still there.
      expect(await countMemoryItems(sys.store.db, 'notion')).toEqual({ current: 2, all: 4 });

      // A second run changes nothing more.
      expect((await sys.ops.runJob('sync_notion')).outcome).toBe('succeeded');
      expect(await countMemoryItems(sys.store.db, 'notion')).toEqual({ current: 2, all: 4 });
    });

    it('a page restored from the trash, or tagged again, continues its item history', async () => {
      const retired = (await listMemoryItems(sys.store.db, { sourceType: 'notion', includeSuperseded: true })).filter((i) => i.superseded_at !== null);
      expect(retired).toHaveLength(2);
      const untagged = retired.find((i) => i.superseded_reason === NOTION_RETIRED.untagged)!;
      const trashed = retired.find((i) => i.superseded_reason === NOTION_RETIRED.trashed)!;
      notion.editPage(untagged.source_id, { tags: ['Canonical'] });
      notion.setInTrash(trashed.source_id, false);
      expect((await sys.ops.runJob('sync_notion')).outcome).toBe('succeeded');

      expect(await current()).toHaveLength(4);
      for (const id of [untagged.source_id, trashed.source_id]) {
        const [old, now] = await history(id);
        expect(now).toMatchObject({ version: 2, superseded_at: null });
        expect(old).toMatchObject({ version: 1, superseded_by: now!.id });
      }
      expect(await countMemoryItems(sys.store.db, 'notion')).toEqual({ current: 4, all: 6 });
    });

    it('a page that was never canonical and is untagged or trashed leaves the store alone', async () => {
      const plain = notion.pages.find((p) => p.tags.length === 0 && !p.inTrash)!;
      notion.setInTrash(plain.id, true);
      expect((await sys.ops.runJob('sync_notion')).outcome).toBe('succeeded');
      expect(await history(plain.id)).toEqual([]);
      expect(await countMemoryItems(sys.store.db, 'notion')).toEqual({ current: 4, all: 6 });
    });
  });
}
