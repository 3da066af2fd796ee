import { performance } from 'node:perf_hooks';
import { type FakeResponse, HttpFake, type RecordedRequest, SlidingWindow, breakFirstItem, isRecord } from './http-fake';

export interface ContactSeed {
  /** Numeric string, as HubSpot ids are. */
  id: string;
  email: string;
  firstname: string;
  lastname: string;
  lastModified: string;
  createdAt?: string;
}

export interface HubSpotFakeOptions {
  token?: string;
  contacts?: ContactSeed[];
  /** Default: 100 requests per rolling 10 s (HubSpot's TEN_SECONDLY_ROLLING policy for private apps). */
  rateLimit?: { requests: number; windowMs: number } | false;
  /**
   * The search endpoints' own limit (HubSpot: 5 requests per second per account), on top of
   * rateLimit; answered 429 with policyName SECONDLY. On by default, like every documented
   * limit; `false` turns it off (a test of something else that searches in a tight loop).
   */
  searchRateLimit?: { requests: number; windowMs: number } | false;
  /**
   * How long after a write search still shows the contact as it was before (or not at all):
   * HubSpot's search reads an index updated asynchronously. Default 0: visible at once. A write
   * may set its own lag (touch, addContact), so writes can become visible out of order.
   */
  indexLagMs?: number;
  /** The fake's clock for index lag (epoch ms). Default Date.now. */
  clock?: () => number;
}

/** One write of a contact, and when search starts showing it. */
interface IndexedVersion {
  seed: ContactSeed;
  visibleAtMs: number;
}

export const HUBSPOT_SEARCH_PATH = '/crm/v3/objects/contacts/search';
export const HUBSPOT_CONTACTS_PATH = '/crm/v3/objects/contacts';
/** One contact by id; `search` is the search endpoint's POST, never a contact id. */
const CONTACT_BY_ID = /^\/crm\/v3\/objects\/contacts\/(?!search$)([^/]+)$/;
/** HubSpot search can page through at most the first 10 000 results of a query. */
const SEARCH_WINDOW = 10_000;
const DEFAULT_PROPERTIES = ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'];
const ALWAYS_RETURNED = ['createdate', 'hs_object_id', 'lastmodifieddate'];
const DATE_PROPERTIES = new Set(['createdate', 'lastmodifieddate']);
const OPERATORS = new Set(['EQ', 'NEQ', 'GT', 'GTE', 'LT', 'LTE', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY']);
const LIST_OPERATORS = new Set(['IN', 'NOT_IN']);

type Filter = { propertyName: string; operator: string; value?: unknown; values?: unknown[] };
type Sort = { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' };

/** Fake of HubSpot CRM v3 contact search (https://developers.hubspot.com/docs/api/crm/search), contact list and read by id; read-only. */
export class HubSpotFake extends HttpFake {
  readonly token: string;
  private readonly store = new Map<string, ContactSeed>();
  /** Per contact, its writes not yet superseded in the search index, oldest first. */
  private readonly index = new Map<string, IndexedVersion[]>();
  private readonly indexLagMs: number;
  private readonly clock: () => number;
  private readonly searchLimiter: SlidingWindow | null;
  /** 429s sent by the search endpoints' own limit (also counted in rateLimited). */
  searchRateLimited = 0;
  private searches = 0;
  /**
   * Called before each search is answered, with its 1-based number: a test changes contacts
   * here (touch) to change them between two pages of a sync. Each search reads the contacts as
   * they are then.
   */
  onSearch: ((n: number) => void) | undefined;

  constructor(options: HubSpotFakeOptions = {}) {
    const limit = options.rateLimit === false ? null : (options.rateLimit ?? { requests: 100, windowMs: 10_000 });
    super(
      limit
        ? new SlidingWindow(limit.requests, limit.windowMs, {
            max: 'X-HubSpot-RateLimit-Max',
            remaining: 'X-HubSpot-RateLimit-Remaining',
            interval: 'X-HubSpot-RateLimit-Interval-Milliseconds',
          })
        : null,
    );
    this.token = options.token ?? 'pat-test-hubspot';
    this.indexLagMs = options.indexLagMs ?? 0;
    this.clock = options.clock ?? Date.now;
    const search = options.searchRateLimit ?? { requests: 5, windowMs: 1000 };
    this.searchLimiter = search ? new SlidingWindow(search.requests, search.windowMs) : null;
    for (const contact of options.contacts ?? []) this.addContact(contact);
  }

  /** Contacts with ids "1".."count", modified one second apart after `startIso`. */
  static generateContacts(count: number, startIso = '2026-01-01T00:00:00.000Z'): ContactSeed[] {
    const start = Date.parse(startIso);
    return Array.from({ length: count }, (_, i) => ({
      id: String(i + 1),
      email: `contact${i + 1}@example.com`,
      firstname: `First${i + 1}`,
      lastname: `Last${i + 1}`,
      lastModified: new Date(start + (i + 1) * 1000).toISOString(),
      createdAt: startIso,
    }));
  }

  get contacts(): ContactSeed[] {
    return [...this.store.values()].map((c) => ({ ...c }));
  }

  /** `indexLagMs`: search shows this write only that long after now (default: the fake's). */
  addContact(seed: ContactSeed, write: { indexLagMs?: number } = {}): void {
    this.write({ ...seed }, write.indexLagMs);
  }

  /** Marks a contact modified at `isoTime`, optionally changing properties too. */
  touch(
    id: string,
    isoTime: string,
    changes: Partial<Pick<ContactSeed, 'email' | 'firstname' | 'lastname'>> = {},
    write: { indexLagMs?: number } = {},
  ): ContactSeed {
    const contact = this.store.get(id);
    if (!contact) throw new Error(`HubSpotFake: no contact ${id}`);
    const touched = { ...contact, ...changes, lastModified: isoTime };
    this.write(touched, write.indexLagMs);
    return { ...touched };
  }

  /** Writes not yet visible to search. */
  pendingIndex(): number {
    const now = this.clock();
    return [...this.index.values()].flat().filter((v) => v.visibleAtMs > now).length;
  }

  private write(seed: ContactSeed, lagMs = this.indexLagMs): void {
    this.store.set(seed.id, seed);
    const versions = this.index.get(seed.id) ?? [];
    versions.push({ seed: { ...seed }, visibleAtMs: lagMs > 0 ? this.clock() + lagMs : -Infinity });
    this.index.set(seed.id, versions);
  }

  /** Each contact as search shows it now: its newest write the index has caught up with. */
  private searchable(): ContactSeed[] {
    const now = this.clock();
    const shown: ContactSeed[] = [];
    for (const [id, versions] of this.index) {
      let newest = -1;
      versions.forEach((v, i) => {
        if (v.visibleAtMs <= now) newest = i;
      });
      if (newest < 0) continue;
      // Older writes can never show again: forget them.
      if (newest > 0) this.index.set(id, versions.slice(newest));
      shown.push(versions[newest]!.seed);
    }
    return shown;
  }

  /** Every recorded request other than a search or a read (GET): tests assert this stays empty (no writes). */
  writeRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET' && !(r.method === 'POST' && r.path === HUBSPOT_SEARCH_PATH));
  }

  protected errorBody(status: number): unknown {
    const correlationId = this.nextId();
    if (status === 429) {
      return { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', correlationId, policyName: 'TEN_SECONDLY_ROLLING' };
    }
    if (status === 401) {
      return { status: 'error', message: 'Authentication credentials not found. This API supports OAuth 2.0 authentication.', correlationId, category: 'INVALID_AUTHENTICATION' };
    }
    if (status >= 500) return { status: 'error', message: 'internal error', correlationId, category: 'INTERNAL_ERROR' };
    if (status === 405) return { status: 'error', message: 'Method not allowed: this fake only serves contact search.', correlationId, category: 'VALIDATION_ERROR' };
    return { status: 'error', message: 'There was a problem with the request.', correlationId, category: 'VALIDATION_ERROR' };
  }

  protected authorize(req: RecordedRequest): FakeResponse | null {
    return req.headers.authorization === `Bearer ${this.token}` ? null : this.error(401);
  }

  protected handle(req: RecordedRequest): FakeResponse {
    if (req.method === 'GET' && req.path === HUBSPOT_CONTACTS_PATH) return this.list(req);
    const byId = CONTACT_BY_ID.exec(req.path);
    if (req.method === 'GET' && byId) return this.read(decodeURIComponent(byId[1]!), req);
    if (req.method !== 'POST' || req.path !== HUBSPOT_SEARCH_PATH) return this.error(405);
    const searchLimited = this.takeSearchToken();
    if (searchLimited) return searchLimited;
    const body = req.body ?? {};
    if (!isRecord(body)) return this.invalid('Invalid input JSON: expected an object.');
    const limit = body.limit ?? 10;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 200) return this.invalid(`limit must be between 1 and 200, got ${JSON.stringify(limit)}`);
    const after = body.after === undefined ? 0 : Number(body.after);
    if (!Number.isInteger(after) || after < 0) return this.invalid(`after must be a non-negative integer, got ${JSON.stringify(body.after)}`);
    if (after >= SEARCH_WINDOW) return this.invalid(`Search can return at most ${SEARCH_WINDOW} results.`);
    this.searches += 1;
    this.onSearch?.(this.searches);
    const filterGroups = parseFilterGroups(body.filterGroups);
    const sorts = parseSorts(body.sorts);
    if (typeof filterGroups === 'string') return this.invalid(filterGroups);
    if (typeof sorts === 'string') return this.invalid(sorts);
    const properties = Array.isArray(body.properties) ? [...new Set([...ALWAYS_RETURNED, ...body.properties.map(String)])] : DEFAULT_PROPERTIES;
    const matches = this.sorted(this.filtered(filterGroups), sorts);
    const results = matches.slice(after, after + limit).map((c) => toObject(c, properties));
    const nextAfter = after + results.length;
    const paging = nextAfter < matches.length && nextAfter < SEARCH_WINDOW ? { paging: { next: { after: String(nextAfter), link: `?after=${nextAfter}` } } } : {};
    return { status: 200, body: { total: matches.length, results, ...paging } };
  }

  /** Contacts read one by one (GET /crm/v3/objects/contacts/{id}), by id, in order. */
  contactReads(): string[] {
    return this.requests.filter((r) => r.method === 'GET' && CONTACT_BY_ID.test(r.path) && r.status === 200).map((r) => decodeURIComponent(CONTACT_BY_ID.exec(r.path)![1]!));
  }

  /** Deletes a contact (HubSpot archives it: reads by id answer 404, search no longer finds it). */
  archive(id: string): void {
    if (!this.store.delete(id)) throw new Error(`HubSpotFake: no contact ${id}`);
    this.index.delete(id);
  }

  /**
   * GET /crm/v3/objects/contacts/{contactId} (https://developers.hubspot.com/docs/api/crm/contacts):
   * the contact as stored now (not through search's lagging index), `properties` comma-separated;
   * an unknown or archived id answers 404 "resource not found". idProperty (read by email) is not
   * served: ids only.
   */
  private read(id: string, req: RecordedRequest): FakeResponse {
    if (req.query.idProperty !== undefined && req.query.idProperty !== 'hs_object_id') return this.invalid('This fake reads contacts by id only.');
    const contact = this.store.get(id);
    if (!contact) return this.error(404, { status: 'error', message: 'resource not found', correlationId: this.nextId() });
    const properties = req.query.properties ? [...new Set([...ALWAYS_RETURNED, ...req.query.properties.split(',')])] : DEFAULT_PROPERTIES;
    return { status: 200, body: toObject(contact, properties) };
  }

  /** GET /crm/v3/objects/contacts (https://developers.hubspot.com/docs/api/crm/contacts): contacts by id, `limit` and `after`. */
  private list(req: RecordedRequest): FakeResponse {
    const limit = Number(req.query.limit ?? 10);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return this.invalid(`limit must be between 1 and 100, got ${JSON.stringify(req.query.limit)}`);
    const after = Number(req.query.after ?? 0);
    if (!Number.isInteger(after) || after < 0) return this.invalid(`after must be a non-negative integer, got ${JSON.stringify(req.query.after)}`);
    const properties = req.query.properties ? [...new Set([...ALWAYS_RETURNED, ...req.query.properties.split(',')])] : DEFAULT_PROPERTIES;
    const all = [...this.store.values()].filter((c) => Number(c.id) > after).sort((a, b) => Number(a.id) - Number(b.id));
    const results = all.slice(0, limit).map((c) => toObject(c, properties));
    const last = all[limit - 1];
    const paging = all.length > limit && last ? { paging: { next: { after: last.id, link: `?after=${last.id}` } } } : {};
    return { status: 200, body: { results, ...paging } };
  }

  protected malform(body: unknown): unknown {
    return breakFirstItem(body, 'results', 'id');
  }

  /** Groups are OR-ed, filters within a group AND-ed; no groups means everything. */
  private filtered(groups: Filter[][]): ContactSeed[] {
    const all = this.searchable();
    if (groups.length === 0) return all;
    return all.filter((c) => groups.some((g) => g.every((f) => matches(c, f))));
  }

  private sorted(contacts: ContactSeed[], sorts: Sort[]): ContactSeed[] {
    const byId = (a: ContactSeed, b: ContactSeed): number => Number(a.id) - Number(b.id);
    return contacts.sort((a, b) => {
      for (const s of sorts) {
        const d = compare(propertyValue(a, s.propertyName), propertyValue(b, s.propertyName));
        if (d !== 0) return s.direction === 'DESCENDING' ? -d : d;
      }
      return byId(a, b);
    });
  }

  /** The search endpoints' own per-second limit, after the general one; null when within it. */
  private takeSearchToken(): FakeResponse | null {
    const decision = this.searchLimiter?.take(performance.now());
    if (!decision || decision.ok) return null;
    this.rateLimited += 1;
    this.searchRateLimited += 1;
    const body = { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId: this.nextId(), policyName: 'SECONDLY' };
    return { status: 429, body, headers: { 'retry-after': String(decision.retryAfterSeconds) } };
  }

  private invalid(message: string): FakeResponse {
    return this.error(400, { status: 'error', message, correlationId: this.nextId(), category: 'VALIDATION_ERROR' });
  }
}

function parseFilterGroups(raw: unknown): Filter[][] | string {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return 'filterGroups must be an array';
  const groups: Filter[][] = [];
  for (const group of raw) {
    if (!isRecord(group) || !Array.isArray(group.filters)) return 'each filter group needs a filters array';
    const filters: Filter[] = [];
    for (const f of group.filters) {
      if (!isRecord(f) || typeof f.propertyName !== 'string' || typeof f.operator !== 'string' || !OPERATORS.has(f.operator)) {
        return `Invalid filter: ${JSON.stringify(f)}`;
      }
      if (LIST_OPERATORS.has(f.operator) !== Array.isArray(f.values)) return `Invalid filter: ${JSON.stringify(f)}`;
      filters.push({ propertyName: f.propertyName, operator: f.operator, value: f.value, ...(Array.isArray(f.values) ? { values: f.values } : {}) });
    }
    groups.push(filters);
  }
  return groups;
}

/** Accepts the documented object form and the SDK-typed string form ("prop" ascending, "-prop" descending). */
function parseSorts(raw: unknown): Sort[] | string {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return 'sorts must be an array';
  const sorts: Sort[] = [];
  for (const s of raw) {
    if (typeof s === 'string') sorts.push(s.startsWith('-') ? { propertyName: s.slice(1), direction: 'DESCENDING' } : { propertyName: s, direction: 'ASCENDING' });
    else if (isRecord(s) && typeof s.propertyName === 'string' && (s.direction === 'ASCENDING' || s.direction === 'DESCENDING')) {
      sorts.push({ propertyName: s.propertyName, direction: s.direction });
    } else return `Invalid sort: ${JSON.stringify(s)}`;
  }
  return sorts;
}

function propertyValue(c: ContactSeed, name: string): string | number | undefined {
  switch (name) {
    case 'lastmodifieddate':
      return Date.parse(c.lastModified);
    case 'createdate':
      return Date.parse(c.createdAt ?? c.lastModified);
    case 'hs_object_id':
      return Number(c.id);
    case 'email':
    case 'firstname':
    case 'lastname':
      return c[name];
    default:
      return undefined;
  }
}

/** Date filter values may be epoch milliseconds (as a string) or ISO dates. */
function filterValue(name: string, value: unknown): string | number {
  const text = String(value);
  if (DATE_PROPERTIES.has(name)) return /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  return name === 'hs_object_id' ? Number(text) : text;
}

function matches(c: ContactSeed, f: Filter): boolean {
  const actual = propertyValue(c, f.propertyName);
  if (f.operator === 'HAS_PROPERTY') return actual !== undefined;
  if (f.operator === 'NOT_HAS_PROPERTY') return actual === undefined;
  if (actual === undefined) return false;
  if (f.values) {
    const listed = f.values.some((v) => compare(actual, filterValue(f.propertyName, v)) === 0);
    return f.operator === 'IN' ? listed : !listed;
  }
  const d = compare(actual, filterValue(f.propertyName, f.value));
  const byOperator: Record<string, boolean> = { EQ: d === 0, NEQ: d !== 0, GT: d > 0, GTE: d >= 0, LT: d < 0, LTE: d <= 0 };
  return byOperator[f.operator] ?? false;
}

function compare(a: string | number | undefined, b: string | number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
}

function toObject(c: ContactSeed, properties: string[]): unknown {
  const createdAt = c.createdAt ?? c.lastModified;
  const all: Record<string, string> = {
    createdate: createdAt,
    email: c.email,
    firstname: c.firstname,
    hs_object_id: c.id,
    lastmodifieddate: c.lastModified,
    lastname: c.lastname,
  };
  const selected = Object.fromEntries(properties.filter((p) => p in all).map((p) => [p, all[p]]));
  return { id: c.id, properties: selected, createdAt, updatedAt: c.lastModified, archived: false };
}
