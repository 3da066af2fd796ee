import { missingSourceSettings, type Config } from '../../config';
import { NotionSource } from '../../integrations/notion';
import { supersedeMemoryItems } from '../../store';
import { retireMemoryItems } from '../../store/memory';
import { readState, type SourceAdapter } from './adapter';

/**
 * A run reads the live pages, then the trash: Notion's search leaves trashed pages out, and only
 * a search with filter.in_trash finds them. Cursors stored before the trash pass have no phase
 * and are live.
 */
interface Cursor {
  start: string | null;
  phase: 'live' | 'trash';
}

/** Why a canonical item was retired with no successor (superseded_reason). */
export const NOTION_RETIRED = {
  /** The page no longer carries any of the configured tags. */
  untagged: 'notion_tag_removed',
  /** The page is in Notion's trash (in_trash; `archived` before API version 2026-03-11). */
  trashed: 'notion_page_trashed',
} as const;

const key = (pageId: string) => `notion.page.${pageId}`;

/**
 * Spec job 4: every page tagged SOP, Canonical or Final becomes a canonical memory item. A page
 * that loses its tag, or is trashed, retires its item with the reason (never deleted); a page
 * tagged or restored again continues the item's history.
 */
export function notionAdapter(config: Config): SourceAdapter {
  const settings = config.sources.notion;
  const token = settings.token;
  const client = token
    ? new NotionSource({ token, baseUrl: settings.baseUrl, tagsProperty: settings.tagsProperty, timeoutMs: config.sources.pageTimeoutMs })
    : undefined;
  const wanted = new Set(settings.tags);
  return {
    source: 'notion',
    missing: missingSourceSettings(config, 'notion'),
    startCursor: () => JSON.stringify({ start: null, phase: 'live' } satisfies Cursor),
    async fetchPage(cursorJson) {
      const cursor = readState<Cursor>('notion', 'cursor', cursorJson, { start: null, phase: 'live' });
      const inTrash = cursor.phase === 'trash';
      const { pages, trashedIds, nextCursor } = await client!.searchPages(cursor.start, { inTrash });
      const isCanonical = (tags: string[]) => tags.some((tag) => wanted.has(tag));
      // Everything a trash search returns is in the trash, whatever its flags say.
      const canonical = inTrash ? [] : pages.filter((page) => isCanonical(page.tags));
      const untagged = inTrash ? [] : pages.filter((page) => !isCanonical(page.tags)).map((page) => page.id);
      const trashed = inTrash ? [...pages.map((page) => page.id), ...trashedIds] : trashedIds;
      const next: Cursor | null = nextCursor ? { start: nextCursor, phase: cursor.phase } : inTrash ? null : { start: null, phase: 'trash' };
      return {
        items: canonical.length,
        nextCursor: next ? JSON.stringify(next) : null,
        apply: async (tx, now) => {
          const items = canonical.map((page) => ({
            key: key(page.id),
            value: page,
            authority: 'canonical' as const,
            sourceType: 'notion',
            sourceId: page.id,
          }));
          await supersedeMemoryItems(tx, items, 'canonical_update', now);
          await retireMemoryItems(tx, untagged.map(key), NOTION_RETIRED.untagged, now);
          await retireMemoryItems(tx, trashed.map(key), NOTION_RETIRED.trashed, now);
        },
      };
    },
  };
}
