/**
 * Notion through its official SDK: one search request per call, no SDK retries (Temporal
 * retries by category), the response checked before use.
 */
import { APIResponseError, Client, isHTTPResponseError, RequestTimeoutError } from '@notionhq/client';
import { z } from 'zod';
import { TransientError } from '../errors';
import { headerOf, httpFailure, parseResponse } from './http';

export interface NotionSettings {
  token: string;
  baseUrl: string;
  tagsProperty: string;
  timeoutMs: number;
}

export interface NotionPageSummary {
  id: string;
  title: string;
  tags: string[];
  url: string;
  createdTime: string;
  lastEditedTime: string;
}

const richText = z.object({ plain_text: z.string() });
const property = z.looseObject({ type: z.string() });
const pageSchema = z.looseObject({
  object: z.literal('page'),
  id: z.string().min(1),
  created_time: z.string(),
  last_edited_time: z.string(),
  url: z.string(),
  in_trash: z.boolean().optional(),
  archived: z.boolean().optional(),
  properties: z.record(z.string(), property),
});
const searchSchema = z.object({
  object: z.literal('list'),
  // Search also returns data sources and databases; only pages are indexed.
  results: z.array(z.discriminatedUnion('object', [pageSchema, z.looseObject({ object: z.enum(['data_source', 'database']) })])),
  next_cursor: z.string().nullable(),
  has_more: z.boolean(),
});
const titleProperty = z.object({ type: z.literal('title'), title: z.array(richText) });
const multiSelect = z.object({ type: z.literal('multi_select'), multi_select: z.array(z.object({ name: z.string() })) });

export class NotionSource {
  private readonly client: Client;

  constructor(private readonly settings: NotionSettings) {
    this.client = new Client({
      auth: settings.token,
      baseUrl: settings.baseUrl,
      timeoutMs: settings.timeoutMs,
      retry: false,
      // The SDK logs every failed request at warn; the activity boundary already reports it.
      logger: () => undefined,
    });
  }

  /**
   * One page of the workspace's pages, 100 at a time, following Notion's cursor. Search leaves
   * trashed pages out; with `inTrash` it returns only them (filter.in_trash). `trashedIds`: the
   * results in the trash (in_trash, or `archived` in API versions before 2026-03-11).
   */
  async searchPages(
    startCursor: string | null,
    options: { inTrash?: boolean } = {},
  ): Promise<{ pages: NotionPageSummary[]; trashedIds: string[]; nextCursor: string | null }> {
    let raw: unknown;
    try {
      raw = await this.client.search({
        filter: { property: 'object', value: 'page', ...(options.inTrash ? { in_trash: true } : {}) },
        sort: { timestamp: 'last_edited_time', direction: 'ascending' },
        page_size: 100,
        ...(startCursor ? { start_cursor: startCursor } : {}),
      });
    } catch (err) {
      throw this.classify(err);
    }
    const body = parseResponse('Notion search', searchSchema, raw);
    const results = body.results.filter((r): r is z.infer<typeof pageSchema> => r.object === 'page');
    const trashed = (page: z.infer<typeof pageSchema>) => page.in_trash === true || page.archived === true;
    const pages = results.filter((page) => !trashed(page)).map((page) => this.summarize(page));
    const trashedIds = results.filter(trashed).map((page) => page.id);
    return { pages, trashedIds, nextCursor: body.has_more ? body.next_cursor : null };
  }

  private summarize(page: z.infer<typeof pageSchema>): NotionPageSummary {
    const props = Object.values(page.properties);
    const title = props.map((p) => titleProperty.safeParse(p)).find((p) => p.success)?.data;
    const tags = multiSelect.safeParse(page.properties[this.settings.tagsProperty]);
    return {
      id: page.id,
      title: title ? title.title.map((t) => t.plain_text).join('') : '',
      tags: tags.success ? tags.data.multi_select.map((t) => t.name) : [],
      url: page.url,
      createdTime: page.created_time,
      lastEditedTime: page.last_edited_time,
    };
  }

  private classify(err: unknown): Error {
    if (isHTTPResponseError(err)) {
      const detail = err instanceof APIResponseError ? `${err.code}: ${err.message}` : err.message;
      return httpFailure('Notion', err.status, detail, headerOf(err.headers, 'retry-after'));
    }
    if (RequestTimeoutError.isRequestTimeoutError(err)) return new TransientError(`Notion request timed out: ${err.message}`);
    return err instanceof Error ? err : new Error(String(err));
  }
}
