import { missingSourceSettings, type Config } from '../../config';
import { HubSpotSource } from '../../integrations/hubspot';
import { upsertMemoryItems } from '../../store';
import { readState, type SourceAdapter } from './adapter';

/** At most this many ids are sent to be left out; more contacts at one instant are paged by id. */
const MAX_SEEN = 100;

/**
 * Keyset paging: every page queries afresh from the newest instant reached, never by offset. An
 * offset shifts when a contact already read is modified during the run (it moves to the end), and
 * the contact then at the page boundary would never be read; from the newest instant, a modified
 * contact just comes again later (upserted, not duplicated).
 */
interface Cursor {
  /** Contacts with lastmodifieddate >= sinceMs (epoch ms) are still to be read... */
  sinceMs: number;
  /**
   * ...except these, read already at exactly sinceMs. Ids, not a count: one of them modified
   * meanwhile leaves that instant, and a count would then skip an unread one.
   */
  seen: string[];
  /**
   * Set when more than MAX_SEEN contacts share sinceMs: they are paged by id (a key that does
   * not move), from above this id, then the run goes on past sinceMs.
   */
  tieAfterId?: string;
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
      return JSON.stringify({ sinceMs: since, seen: [], maxMs: since } satisfies Cursor);
    },
    async fetchPage(cursorJson) {
      // A cursor from before keyset paging ({ sinceMs, after, maxMs }) has no `seen`: its `after`
      // is dropped and the run reads again from sinceMs, which loses nothing.
      const { sinceMs, seen, tieAfterId, maxMs: maxBefore } = readState<Cursor>('hubspot', 'cursor', cursorJson, { sinceMs: 0, seen: [], maxMs: 0 });
      const page = tieAfterId !== undefined ? await client!.modifiedAt(sinceMs, tieAfterId) : await client!.modifiedSince(sinceMs, null, seen);
      // By id, the tie's first page brings again the ones read before the switch.
      const contacts = tieAfterId !== undefined ? page.contacts.filter((c) => !seen.includes(c.id)) : page.contacts;
      const maxMs = Math.max(maxBefore, ...contacts.map((c) => c.modifiedMs));
      const last = page.contacts.at(-1);
      let next: Cursor | null = null;
      if (tieAfterId !== undefined) {
        // Nobody can be modified at a past instant again: once its ties are read, go past it.
        next = page.after !== null && last ? { sinceMs, seen, tieAfterId: last.id, maxMs } : { sinceMs: sinceMs + 1, seen: [], maxMs };
      } else if (page.after !== null && last) {
        const atLast = contacts.filter((c) => c.modifiedMs === last.modifiedMs).map((c) => c.id);
        const nowSeen = last.modifiedMs === sinceMs ? [...seen, ...atLast] : atLast;
        next = { sinceMs: last.modifiedMs, seen: nowSeen, maxMs, ...(nowSeen.length > MAX_SEEN ? { tieAfterId: '0' } : {}) };
      }
      return {
        items: contacts.length,
        nextCursor: next ? JSON.stringify(next) : null,
        watermark: JSON.stringify({ sinceMs: maxMs }),
        apply: async (tx, now) => {
          const items = contacts.map(({ modifiedMs: _ms, ...contact }) => ({
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
