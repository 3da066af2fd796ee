/**
 * HubSpot CRM, read-only, through the official SDK: contacts modified since a point in time,
 * oldest first (or those modified at one instant, by id), one search request per call, and one
 * contact by id (GET /crm/v3/objects/contacts/{id}, for the webhook's per-contact sync). No SDK
 * limiter or retries: the task queue holds the rate limit for every worker, and Temporal
 * retries by category.
 */
import type { Client } from '@hubspot/api-client';
import type { FilterGroup, FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts';

/**
 * The SDK's filter operators by their wire names: the SDK itself (about 14 MB resident) is loaded
 * only when a HubSpot request is first made, not by every process that imports this module.
 */
const op = (name: 'EQ' | 'GT' | 'GTE' | 'NOT_IN'): FilterOperatorEnum => name as unknown as FilterOperatorEnum;
import { z } from 'zod';
import { ValidationError } from '../errors';
import { headerOf, httpFailure, parseResponse } from './http';

export interface HubSpotSettings {
  token: string;
  baseUrl: string;
  pageSize: number;
}

export const CONTACT_PROPERTIES = ['email', 'firstname', 'lastname', 'phone', 'company', 'lifecyclestage', 'lastmodifieddate'];

const contactSchema = z.object({
  id: z.string().min(1),
  properties: z.record(z.string(), z.string().nullable().optional()),
  createdAt: z.date(),
  updatedAt: z.date(),
  archived: z.boolean().optional(),
});
const searchSchema = z.object({
  total: z.number().int().nonnegative(),
  results: z.array(contactSchema),
  paging: z.object({ next: z.object({ after: z.string().min(1) }).optional() }).optional(),
});

const pageSchema = z.object({ results: z.array(z.object({ id: z.string().min(1) })) });

export interface HubSpotContact {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  /** lastmodifieddate as epoch milliseconds (the search filter's unit). */
  modifiedMs: number;
}

/** `after`: the offset of the next page of the same query; null on the last page. */
export interface HubSpotPage {
  contacts: HubSpotContact[];
  after: string | null;
}

export class HubSpotSource {
  private client?: Promise<Client>;

  constructor(private readonly settings: HubSpotSettings) {}

  private api(): Promise<Client> {
    this.client ??= import('@hubspot/api-client').then(
      ({ Client }) => new Client({ accessToken: this.settings.token, basePath: this.settings.baseUrl, numberOfApiCallRetries: 0 }),
    );
    return this.client;
  }

  /**
   * Contacts with lastmodifieddate >= sinceMs, oldest first, from offset `after`; `except`: ids
   * left out when modified at exactly sinceMs (still returned if modified later).
   */
  async modifiedSince(sinceMs: number, after: string | null, except: readonly string[] = []): Promise<HubSpotPage> {
    const since = String(sinceMs);
    const filterGroups: FilterGroup[] =
      except.length === 0
        ? [{ filters: [{ propertyName: 'lastmodifieddate', operator: op('GTE'), value: since }] }]
        : [
            { filters: [{ propertyName: 'lastmodifieddate', operator: op('GT'), value: since }] },
            {
              filters: [
                { propertyName: 'lastmodifieddate', operator: op('EQ'), value: since },
                { propertyName: 'hs_object_id', operator: op('NOT_IN'), values: [...except] },
              ],
            },
          ];
    return this.search(filterGroups, 'lastmodifieddate', after);
  }

  /** Contacts with lastmodifieddate exactly atMs and an id above afterId, by id. */
  async modifiedAt(atMs: number, afterId: string): Promise<HubSpotPage> {
    const filterGroups: FilterGroup[] = [
      {
        filters: [
          { propertyName: 'lastmodifieddate', operator: op('EQ'), value: String(atMs) },
          { propertyName: 'hs_object_id', operator: op('GT'), value: afterId },
        ],
      },
    ];
    return this.search(filterGroups, 'hs_object_id', null);
  }

  /** The cheapest authenticated read (health_monitor): one contact, no search (search has a lower limit of its own). */
  async ping(): Promise<void> {
    let raw: unknown;
    try {
      raw = await (await this.api()).crm.contacts.basicApi.getPage(1, undefined, ['hs_object_id']);
    } catch (err) {
      throw classify(err);
    }
    parseResponse('HubSpot contact list', pageSchema, raw);
  }

  /**
   * The contact as it is now, or null when HubSpot has no such (unarchived) contact: deleted,
   * merged away or archived, which a webhook event can name (404 OBJECT_NOT_FOUND).
   */
  async contactById(id: string): Promise<HubSpotContact | null> {
    let raw: unknown;
    try {
      // HubSpot documents `properties` as one comma-separated list (the SDK would repeat the parameter).
      raw = await (await this.api()).crm.contacts.basicApi.getById(id, [CONTACT_PROPERTIES.join(',')]);
    } catch (err) {
      if ((err as { code?: unknown })?.code === 404) return null;
      throw classify(err);
    }
    const [contact] = toContacts('HubSpot contact read', [parseResponse('HubSpot contact read', contactSchema, raw)]);
    return contact!;
  }

  private async search(filterGroups: FilterGroup[], sortBy: string, after: string | null): Promise<HubSpotPage> {
    let raw: unknown;
    try {
      raw = await (await this.api()).crm.contacts.searchApi.doSearch({
        filterGroups,
        // The SDK types sorts as strings; the API takes these objects, and the SDK passes them through.
        sorts: [{ propertyName: sortBy, direction: 'ASCENDING' } as unknown as string],
        properties: CONTACT_PROPERTIES,
        limit: this.settings.pageSize,
        ...(after ? { after } : {}),
      });
    } catch (err) {
      throw classify(err);
    }
    const body = parseResponse('HubSpot contact search', searchSchema, raw);
    return { contacts: toContacts('HubSpot contact search', body.results, 'results.'), after: body.paging?.next?.after ?? null };
  }
}

function toContacts(what: string, results: z.infer<typeof contactSchema>[], path = ''): HubSpotContact[] {
  return results.map((c, i) => {
    const modified = c.properties.lastmodifieddate ?? c.updatedAt.toISOString();
    const modifiedMs = Date.parse(modified);
    if (Number.isNaN(modifiedMs)) {
      throw new ValidationError(`${what} response failed validation: ${path ? `${path}${i}.` : ''}properties.lastmodifieddate: not a date`);
    }
    return {
      id: c.id,
      properties: Object.fromEntries(Object.entries(c.properties).map(([k, v]) => [k, v ?? null])),
      createdAt: c.createdAt.toISOString(),
      updatedAt: c.updatedAt.toISOString(),
      modifiedMs,
    };
  });
}

function classify(err: unknown): Error {
  const e = err as { code?: unknown; body?: unknown; headers?: unknown; message?: unknown };
  if (typeof e?.code === 'number' && e.code >= 400) {
    const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? '');
    return httpFailure('HubSpot', e.code, body, headerOf(e.headers, 'retry-after'));
  }
  return err instanceof Error ? err : new Error(String(err));
}
