import { missingSourceSettings, type Config } from '../../config';
import { ExternalApiError } from '../../errors';
import { HUBSPOT_SEARCH_RESULT_LIMIT, HubSpotSource } from '../../integrations/hubspot';
import { upsertMemoryItems } from '../../store';
import { readState, type SourceAdapter } from './adapter';

interface Cursor {
  /** lastmodifieddate >= sinceMs (epoch ms). */
  sinceMs: number;
  /** Offset within the current query. */
  after: string | null;
  /** The newest modification seen this run: the next run's starting point. */
  maxMs: number;
}

/**
 * Spec job 6: contacts modified since the last sync, stored raw as inferred memory items, one
 * current row per contact. Read-only: the only endpoint called is search.
 */
export function hubspotAdapter(config: Config): SourceAdapter {
  const settings = config.sources.hubspot;
  const client = settings.token ? new HubSpotSource({ ...settings, token: settings.token }) : undefined;
  return {
    source: 'hubspot',
    missing: missingSourceSettings(config, 'hubspot'),
    startCursor(watermark) {
      const since = readState('hubspot', 'watermark', watermark, { sinceMs: 0 }).sinceMs;
      return JSON.stringify({ sinceMs: since, after: null, maxMs: since } satisfies Cursor);
    },
    async fetchPage(cursorJson) {
      const cursor = readState<Cursor>('hubspot', 'cursor', cursorJson, { sinceMs: 0, after: null, maxMs: 0 });
      const page = await client!.modifiedSince(cursor.sinceMs, cursor.after);
      const maxMs = Math.max(cursor.maxMs, ...page.contacts.map((c) => c.modifiedMs));
      const reached = Number(cursor.after ?? 0) + page.contacts.length;
      const capped = page.after !== null ? Number(page.after) >= HUBSPOT_SEARCH_RESULT_LIMIT : reached < page.total;
      let next: Cursor | null = page.after !== null ? { ...cursor, after: page.after, maxMs } : null;
      if (capped) {
        // Search stops at 10,000 results: query again from the newest timestamp reached (the
        // contacts at that instant come again and are upserted, not duplicated).
        const last = page.contacts.at(-1)?.modifiedMs ?? cursor.sinceMs;
        if (last <= cursor.sinceMs) {
          throw new ExternalApiError(
            `HubSpot: more than ${HUBSPOT_SEARCH_RESULT_LIMIT} contacts share lastmodifieddate ${new Date(last).toISOString()}; search cannot page past them`,
          );
        }
        next = { sinceMs: last, after: null, maxMs };
      }
      return {
        items: page.contacts.length,
        nextCursor: next ? JSON.stringify(next) : null,
        watermark: JSON.stringify({ sinceMs: maxMs }),
        apply: async (tx, now) => {
          const items = page.contacts.map(({ modifiedMs: _ms, ...contact }) => ({
            key: `hubspot.contact.${contact.id}`,
            value: contact,
            authority: 'inferred' as const,
            sourceType: 'hubspot',
            sourceId: contact.id,
          }));
          await upsertMemoryItems(tx, items, now);
        },
      };
    },
  };
}
