import { missingSourceSettings, type Config } from '../../config';
import { NotionSource } from '../../integrations/notion';
import { supersedeMemoryItems } from '../../store';
import { readState, type SourceAdapter } from './adapter';

interface Cursor {
  start: string | null;
}

/** Spec job 4: every page tagged SOP, Canonical or Final becomes a canonical memory item. */
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
    startCursor: () => JSON.stringify({ start: null } satisfies Cursor),
    async fetchPage(cursorJson) {
      const cursor = readState<Cursor>('notion', 'cursor', cursorJson, { start: null });
      const { pages, nextCursor } = await client!.searchPages(cursor.start);
      const canonical = pages.filter((page) => page.tags.some((tag) => wanted.has(tag)));
      return {
        items: canonical.length,
        nextCursor: nextCursor ? JSON.stringify({ start: nextCursor } satisfies Cursor) : null,
        apply: async (tx, now) => {
          const items = canonical.map((page) => ({
            key: `notion.page.${page.id}`,
            value: page,
            authority: 'canonical' as const,
            sourceType: 'notion',
            sourceId: page.id,
          }));
          await supersedeMemoryItems(tx, items, 'canonical_update', now);
        },
      };
    },
  };
}
