import { type FakeResponse, HttpFake, type RecordedRequest, TokenBucket, breakFirstItem, deterministicUuid, isRecord } from './http-fake';

export interface NotionPageSeed {
  id: string;
  title: string;
  tags: string[];
  lastEditedTime: string;
  createdTime?: string;
  /** In Notion's trash: search leaves it out unless asked for the trash (filter.in_trash). */
  inTrash?: boolean;
}

export interface NotionFakeOptions {
  token?: string;
  pages?: NotionPageSeed[];
  /** Default: 3 per second on average, bursts of 3 (Notion's documented average). */
  rateLimit?: { perSecond: number; burst: number } | false;
  /** Name of the multi_select property holding tags. */
  tagsProperty?: string;
}

export interface GeneratePagesOptions {
  /** Every n-th page (1-based) gets `tag`; 0 = none. */
  tagEvery?: number;
  tag?: string;
  startIso?: string;
  stepMs?: number;
}

const USER_ID = deterministicUuid(1, 0xaaaa);
const NO_ANNOTATIONS = { bold: false, italic: false, strikethrough: false, underline: false, code: false, color: 'default' };
// Versions from 2025-09-03 on (the SDK 5.x default) call databases "data sources" in search responses.
const DATA_SOURCE_VERSION = '2025-09-03';
// From 2026-03-11 on, pages carry only in_trash; before, `archived` was its deprecated alias.
const NO_ARCHIVED_VERSION = '2026-03-11';

/** Fake of Notion's POST /v1/search (https://developers.notion.com/reference/post-search), pages only, and GET /v1/users/me. */
export class NotionFake extends HttpFake {
  readonly token: string;
  readonly tagsProperty: string;
  private readonly store = new Map<string, NotionPageSeed>();

  constructor(options: NotionFakeOptions = {}) {
    const limit = options.rateLimit === false ? null : (options.rateLimit ?? { perSecond: 3, burst: 3 });
    super(limit ? new TokenBucket(limit.perSecond, limit.burst) : null);
    this.token = options.token ?? 'secret_notion_test';
    this.tagsProperty = options.tagsProperty ?? 'Tags';
    for (const page of options.pages ?? []) this.addPage(page);
  }

  /** Pages 1..count, edited `stepMs` apart after `startIso`, so the newest is `Page <count>`. */
  static generatePages(count: number, options: GeneratePagesOptions = {}): NotionPageSeed[] {
    const { tagEvery = 0, tag = 'ops', startIso = '2026-01-01T00:00:00.000Z', stepMs = 60_000 } = options;
    const start = Date.parse(startIso);
    return Array.from({ length: count }, (_, i) => ({
      id: deterministicUuid(i + 1),
      title: `Page ${i + 1}`,
      tags: tagEvery > 0 && (i + 1) % tagEvery === 0 ? [tag] : [],
      lastEditedTime: new Date(start + (i + 1) * stepMs).toISOString(),
      createdTime: startIso,
    }));
  }

  get pages(): NotionPageSeed[] {
    return [...this.store.values()].map((p) => ({ ...p, tags: [...p.tags] }));
  }

  addPage(seed: NotionPageSeed): void {
    this.store.set(seed.id, { ...seed, tags: [...seed.tags] });
  }

  /** Edits a page; without an explicit time, last_edited_time moves past both now and every other page. */
  editPage(id: string, changes: { title?: string; tags?: string[]; lastEditedTime?: string }): NotionPageSeed {
    const page = this.store.get(id);
    if (!page) throw new Error(`NotionFake: no page ${id}`);
    const latest = Math.max(...[...this.store.values()].map((p) => Date.parse(p.lastEditedTime)));
    const edited: NotionPageSeed = {
      ...page,
      title: changes.title ?? page.title,
      tags: [...(changes.tags ?? page.tags)],
      lastEditedTime: changes.lastEditedTime ?? new Date(Math.max(Date.now(), latest + 1000)).toISOString(),
    };
    this.store.set(id, edited);
    return edited;
  }

  /**
   * Moves a page to the trash, or back (PATCH /v1/pages/{id} with in_trash,
   * https://developers.notion.com/reference/archive-a-page); last_edited_time moves as for an edit.
   */
  setInTrash(id: string, inTrash: boolean): NotionPageSeed {
    this.editPage(id, {});
    const page = { ...this.store.get(id)!, inTrash };
    this.store.set(id, page);
    return { ...page, tags: [...page.tags] };
  }

  protected errorBody(status: number): unknown {
    const [code, message] = ERRORS[status] ?? (status >= 500 ? ERRORS[500] : ERRORS[400]) ?? ['', ''];
    return { object: 'error', status, code, message, request_id: this.nextId() };
  }

  protected authorize(req: RecordedRequest): FakeResponse | null {
    return req.headers.authorization === `Bearer ${this.token}` ? null : this.error(401);
  }

  protected handle(req: RecordedRequest): FakeResponse {
    // GET /v1/users/me (https://developers.notion.com/reference/get-self): the token's bot user.
    if (req.path === '/v1/users/me' && req.method === 'GET') return { status: 200, body: { object: 'user', id: USER_ID, type: 'bot', name: 'personal-ops', avatar_url: null, bot: { owner: { type: 'workspace', workspace: true }, workspace_name: 'Fake' }, request_id: this.nextId() } };
    if (req.path !== '/v1/search' || req.method !== 'POST') return this.error(404);
    const version = req.headers['notion-version'];
    if (version === undefined) return this.error(400, this.body(400, 'missing_version', 'Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.'));
    const body = req.body ?? {};
    if (!isRecord(body)) return this.invalid('body failed validation: body should be an object.');
    const pageSize = body.page_size ?? 100;
    if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
      return this.invalid(`body failed validation: body.page_size should be a number between 1 and 100, instead was \`${JSON.stringify(pageSize)}\`.`);
    }
    const matches = this.search(body);
    if (typeof matches === 'string') return this.invalid(matches);
    return this.page(matches, body.start_cursor, pageSize, version);
  }

  protected malform(body: unknown): unknown {
    return breakFirstItem(body, 'results', 'id');
  }

  /** Filtered and ordered pages, or a validation message. */
  private search(body: Record<string, unknown>): NotionPageSeed[] | string {
    const { query, filter, sort } = body;
    if (query !== undefined && typeof query !== 'string') return 'body failed validation: body.query should be a string.';
    if (filter !== undefined && !isRecord(filter)) return 'body failed validation: body.filter should be an object.';
    if (filter?.in_trash !== undefined && typeof filter.in_trash !== 'boolean') return 'body failed validation: body.filter.in_trash should be a boolean.';
    if (sort !== undefined && (!isRecord(sort) || !['ascending', 'descending'].includes(String(sort.direction)))) {
      return 'body failed validation: body.sort.direction should be `"ascending"` or `"descending"`.';
    }
    // Only pages exist here: a database / data_source filter finds nothing.
    if (filter?.property === 'object' && filter.value !== 'page') return [];
    const needle = (query ?? '').toLowerCase();
    const sign = sort?.direction === 'ascending' ? 1 : -1;
    // Trashed pages are left out; filter.in_trash: true returns only them (never both at once).
    const trash = filter?.in_trash === true;
    return [...this.store.values()]
      .filter((p) => (p.inTrash ?? false) === trash)
      .filter((p) => p.title.toLowerCase().includes(needle))
      .sort((a, b) => sign * (Date.parse(a.lastEditedTime) - Date.parse(b.lastEditedTime)) || a.id.localeCompare(b.id));
  }

  private page(matches: NotionPageSeed[], cursor: unknown, pageSize: number, version: string): FakeResponse {
    let start = 0;
    if (cursor !== undefined && cursor !== null) {
      // Notion's cursor is the id of the first item of the next page.
      start = matches.findIndex((p) => p.id === cursor);
      if (start < 0) return this.invalid(`The start_cursor provided is invalid: ${String(cursor)}`);
    }
    const slice = matches.slice(start, start + pageSize);
    const next = matches[start + pageSize];
    const type = version >= DATA_SOURCE_VERSION ? 'page_or_data_source' : 'page_or_database';
    const body = {
      object: 'list',
      results: slice.map((p) => this.pageObject(p, version)),
      next_cursor: next?.id ?? null,
      has_more: next !== undefined,
      type,
      [type]: {},
      request_id: this.nextId(),
    };
    return { status: 200, body };
  }

  private pageObject(p: NotionPageSeed, version: string): unknown {
    const user = { object: 'user', id: USER_ID };
    const inTrash = p.inTrash ?? false;
    return {
      object: 'page',
      id: p.id,
      created_time: p.createdTime ?? p.lastEditedTime,
      last_edited_time: p.lastEditedTime,
      created_by: user,
      last_edited_by: user,
      cover: null,
      icon: null,
      parent: { type: 'workspace', workspace: true },
      ...(version < NO_ARCHIVED_VERSION ? { archived: inTrash } : {}),
      is_archived: false,
      in_trash: inTrash,
      is_locked: false,
      properties: {
        Name: { id: 'title', type: 'title', title: [richText(p.title)] },
        [this.tagsProperty]: { id: 'tags', type: 'multi_select', multi_select: p.tags.map((name) => ({ id: optionId(name), name, color: 'default' })) },
      },
      url: `https://www.notion.so/${p.title.replace(/[^A-Za-z0-9]+/g, '-')}-${p.id.replace(/-/g, '')}`,
      public_url: null,
    };
  }

  private invalid(message: string): FakeResponse {
    return this.error(400, this.body(400, 'validation_error', message));
  }

  private body(status: number, code: string, message: string): unknown {
    return { object: 'error', status, code, message, request_id: this.nextId() };
  }
}

const ERRORS: Record<number, [code: string, message: string]> = {
  400: ['invalid_json', 'Error parsing JSON body.'],
  401: ['unauthorized', 'API token is invalid.'],
  404: ['invalid_request_url', 'Invalid request URL.'],
  429: ['rate_limited', 'You have been rate limited. Please try again in a few minutes.'],
  500: ['internal_server_error', 'Unexpected error occurred.'],
  502: ['bad_gateway', 'Notion encountered an issue while attempting to complete this request.'],
  503: ['service_unavailable', 'Notion is unavailable. Please try again later.'],
  504: ['gateway_timeout', 'Notion timed out while attempting to complete this request.'],
};

function richText(content: string): unknown {
  return { type: 'text', text: { content, link: null }, annotations: NO_ANNOTATIONS, plain_text: content, href: null };
}

/** Stable short option id per tag name (Notion's look like "a1b2"); FNV-1a keeps it deterministic. */
function optionId(name: string): string {
  let hash = 0x811c9dc5;
  for (const ch of name) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return hash.toString(36).slice(0, 4);
}
