import type { Kysely } from 'kysely';
import { missingSourceSettings, type Config } from '../../config';
import { HubSpotSource, type HubSpotContact } from '../../integrations/hubspot';
import { upsertMemoryItems, type Database, type WriteCounts } from '../../store';
import { readState, type SourceAdapter } from './adapter';

/** At most this many ids are sent to be left out; more contacts at one instant are paged by id. */
const MAX_SEEN = 100;
/**
 * How long after a write HubSpot's search may still not show it. Search reads an index that is
 * updated asynchronously, a few seconds behind writes and not in write order: a contact modified
 * before the newest one a run read can appear only after that run, with its older
 * lastmodifieddate. So the next run starts no later than this long before the run began, and
 * contacts it reads again unchanged are neither counted nor written again.
 */
export const SEARCH_INDEX_LAG_MS = 5 * 60_000;
/** At most this many contacts read within the lag are remembered for the next run to skip. */
const MAX_KNOWN = 1_000;

/** Where the next run starts, and the contacts (id → lastmodifieddate) it will read again. */
interface Watermark {
  sinceMs: number;
  known: Record<string, number>;
}

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
  /** The newest modification seen this run: the next run starts there, or at runStartedMs - SEARCH_INDEX_LAG_MS if earlier. */
  maxMs: number;
  /** When the run began (epoch ms); absent in a cursor from before the lag was allowed for. */
  runStartedMs?: number;
  /** From the last run: contacts read already, at these lastmodifieddates, not to count again. */
  known?: Record<string, number>;
  /** Read this run within the lag: the next run's `known`. */
  recent?: Record<string, number>;
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
    startCursor(watermarkJson, now) {
      const { sinceMs, known } = readState<Watermark>('hubspot', 'watermark', watermarkJson, { sinceMs: 0, known: {} });
      return JSON.stringify({ sinceMs, seen: [], maxMs: sinceMs, runStartedMs: now.getTime(), known, recent: {} } satisfies Cursor);
    },
    async fetchPage(cursorJson, now) {
      // A cursor from before keyset paging ({ sinceMs, after, maxMs }) has no `seen`: its `after`
      // is dropped and the run reads again from sinceMs, which loses nothing.
      const cursor = readState<Cursor>('hubspot', 'cursor', cursorJson, { sinceMs: 0, seen: [], maxMs: 0 });
      const { sinceMs, seen, tieAfterId, maxMs: maxBefore } = cursor;
      const lagFloorMs = (cursor.runStartedMs ?? now.getTime()) - SEARCH_INDEX_LAG_MS;
      const known = cursor.known ?? {};
      const page = tieAfterId !== undefined ? await client!.modifiedAt(sinceMs, tieAfterId) : await client!.modifiedSince(sinceMs, null, seen);
      // By id, the tie's first page brings again the ones read before the switch.
      const contacts = tieAfterId !== undefined ? page.contacts.filter((c) => !seen.includes(c.id)) : page.contacts;
      const maxMs = Math.max(maxBefore, ...contacts.map((c) => c.modifiedMs));
      const last = page.contacts.at(-1);
      // Within the lag, contacts may still appear behind the newest one read: remember those read
      // there, so the next run, which reads them again, skips them.
      const recent = { ...(cursor.recent ?? {}) };
      let room = MAX_KNOWN - Object.keys(recent).length;
      for (const c of contacts) {
        if (c.modifiedMs < lagFloorMs || (room <= 0 && !(c.id in recent))) continue;
        if (!(c.id in recent)) room -= 1;
        recent[c.id] = c.modifiedMs;
      }
      const carried = { runStartedMs: cursor.runStartedMs, known, recent };
      let next: Cursor | null = null;
      if (tieAfterId !== undefined) {
        // Nobody can be modified at a past instant again: once its ties are read, go past it.
        next =
          page.after !== null && last ? { sinceMs, seen, tieAfterId: last.id, maxMs, ...carried } : { sinceMs: sinceMs + 1, seen: [], maxMs, ...carried };
      } else if (page.after !== null && last) {
        const atLast = contacts.filter((c) => c.modifiedMs === last.modifiedMs).map((c) => c.id);
        const nowSeen = last.modifiedMs === sinceMs ? [...seen, ...atLast] : atLast;
        next = { sinceMs: last.modifiedMs, seen: nowSeen, maxMs, ...carried, ...(nowSeen.length > MAX_SEEN ? { tieAfterId: '0' } : {}) };
      }
      // Read by the last run at this same modification: already stored as it is.
      const changed = contacts.filter((c) => known[c.id] !== c.modifiedMs);
      const watermark: Watermark = { sinceMs: Math.min(maxMs, Math.max(lagFloorMs, 0)), known: recent };
      return {
        items: changed.length,
        nextCursor: next ? JSON.stringify(next) : null,
        watermark: JSON.stringify(watermark),
        apply: async (tx, now) => {
          await storeContacts(tx, changed, now);
        },
      };
    },
  };
}

/** The memory key of a HubSpot contact: one current row per contact, whichever path wrote it. */
export const contactKey = (id: string): string => `hubspot.contact.${id}`;

/**
 * Stores contacts as the full sync and the webhook's per-contact sync both do: raw, inferred, one
 * current row per contact, upserted (unchanged data writes nothing). A contact whose stored row
 * is newer (lastmodifieddate) is left as it is: search reads a lagging index and can bring an
 * older version than the one a webhook's direct read already stored. Call inside a transaction.
 */
export async function storeContacts(tx: Kysely<Database>, contacts: readonly HubSpotContact[], now: Date): Promise<WriteCounts & { older: number }> {
  if (contacts.length === 0) return { inserted: 0, changed: 0, unchanged: 0, older: 0 };
  const stored = await storedModifiedMs(tx, contacts.map((c) => contactKey(c.id)));
  const newer = contacts.filter((c) => !((stored.get(contactKey(c.id)) ?? -Infinity) > c.modifiedMs));
  const items = newer.map(({ modifiedMs: _ms, ...contact }) => ({
    key: contactKey(contact.id),
    value: contact,
    authority: 'inferred' as const,
    sourceType: 'hubspot',
    sourceId: contact.id,
  }));
  const counts = await upsertMemoryItems(tx, items, now);
  return { ...counts, older: contacts.length - newer.length };
}

/** lastmodifieddate (epoch ms) of the stored current rows of these keys, where it reads as a date. */
async function storedModifiedMs(tx: Kysely<Database>, keys: string[]): Promise<Map<string, number>> {
  const rows = await tx.selectFrom('memory_items').select(['key', 'value']).where('key', 'in', keys).where('superseded_at', 'is', null).execute();
  const found = new Map<string, number>();
  for (const row of rows) {
    try {
      const value = JSON.parse(row.value) as { properties?: { lastmodifieddate?: unknown }; updatedAt?: unknown };
      const ms = Date.parse(String(value.properties?.lastmodifieddate ?? value.updatedAt));
      if (!Number.isNaN(ms)) found.set(row.key, ms);
    } catch {
      // A row this code did not write: the new data replaces it.
    }
  }
  return found;
}
