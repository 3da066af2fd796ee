import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** One request as the fake saw it; every request is recorded, including rejected ones. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Header names are lowercased (as node:http delivers them); repeated headers are joined with ', '. */
  headers: Record<string, string>;
  /** Parsed JSON (or form) body; undefined when empty or unparsable (see rawBody). */
  body: unknown;
  rawBody: string;
  /** performance.now() when the request was fully read. */
  at: number;
  /** HTTP status the fake answered with (set once the response is decided). */
  status?: number;
}

/** Optional `path`: only requests whose path contains it consume the fault (default: any request). */
type FaultTarget = { path?: string };
/** `raw`: a body sent as is, as text/html (a proxy's error page), instead of JSON. */
export type StatusFault = { status: number; retryAfterSeconds?: number; body?: unknown; raw?: string } & FaultTarget;
export type Fault = StatusFault | ({ malformed: true } & FaultTarget) | ({ delayMs: number } & FaultTarget);

export interface FakeResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  raw?: string;
}

export type LimitDecision =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; retryAfterSeconds: number; headers: Record<string, string> };

export interface RateLimiter {
  take(nowMs: number): LimitDecision;
}

/** Token bucket: `burst` tokens to start with, refilled continuously at `perSecond`. */
export class TokenBucket implements RateLimiter {
  private tokens: number;
  private last: number | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(nowMs: number): LimitDecision {
    if (this.last !== undefined) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) / 1000) * this.perSecond);
    }
    this.last = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true, headers: {} };
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
    return { ok: false, retryAfterSeconds, headers: {} };
  }
}

/** Sliding window: at most `max` accepted requests in any `windowMs`; rejected ones do not count. */
export class SlidingWindow implements RateLimiter {
  private accepted: number[] = [];

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly headerNames?: { max: string; remaining: string; interval: string },
  ) {}

  take(nowMs: number): LimitDecision {
    this.accepted = this.accepted.filter((t) => t > nowMs - this.windowMs);
    const oldest = this.accepted[0];
    if (oldest !== undefined && this.accepted.length >= this.max) {
      const retryAfterSeconds = Math.max(1, Math.ceil((oldest + this.windowMs - nowMs) / 1000));
      return { ok: false, retryAfterSeconds, headers: this.headers(0) };
    }
    this.accepted.push(nowMs);
    return { ok: true, headers: this.headers(this.max - this.accepted.length) };
  }

  private headers(remaining: number): Record<string, string> {
    if (!this.headerNames) return {};
    return {
      [this.headerNames.max]: String(this.max),
      [this.headerNames.remaining]: String(remaining),
      [this.headerNames.interval]: String(this.windowMs),
    };
  }
}

/** `prefix-000042`: readable, sortable ids for generated data. */
export function deterministicId(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(6, '0')}`;
}

/** A UUID-shaped id (version 4 / variant bits set) derived from n, e.g. 00000000-0000-4000-8000-000000000001. */
export function deterministicUuid(n: number, high = 0): string {
  const hi = high.toString(16).padStart(8, '0');
  return `${hi}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Returns a copy of `body` whose first `listKey` item lacks `field` (or, for an empty list, whose list is
 * null), so it no longer matches the documented schema. A non-list `listKey` loses `field` itself.
 */
export function breakFirstItem(body: unknown, listKey: string, field: string): unknown {
  if (!isRecord(body)) return body;
  const copy = structuredClone(body);
  const list = copy[listKey];
  if (Array.isArray(list)) {
    const first: unknown = list[0];
    if (isRecord(first)) delete first[field];
    else copy[listKey] = null;
  } else if (isRecord(list)) {
    delete list[field];
  }
  return copy;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Base of the API fakes: records requests, replays injected faults, applies a rate limiter, then hands
 * the request to the subclass. Order for a normal request: authorize → rate limit → body check → handle,
 * so unauthenticated calls do not spend the token's budget (as with the real per-token limits).
 */
export abstract class HttpFake {
  readonly requests: RecordedRequest[] = [];
  /** 429s sent by the built-in limiter. */
  rateLimited = 0;
  /** 429s sent because of an injected fault. */
  injected429 = 0;
  private readonly faults: Fault[] = [];
  private server: Server | undefined;
  private baseUrl: string | undefined;
  private idCounter = 0;
  /** The last exception thrown while handling a request (answered as a 500), for debugging tests. */
  lastError: unknown;

  /**
   * Whether a 429 names its wait in a Retry-After header. Some APIs (Telegram) put it only in the
   * JSON body, which errorBody writes.
   */
  protected retryAfterHeader = true;

  protected constructor(private readonly limiter: RateLimiter | null) {}

  /** API-specific error body for `status` (429 bodies may mention retryAfterSeconds). */
  protected abstract errorBody(status: number, retryAfterSeconds?: number): unknown;
  /** Non-null when the request is not authenticated. */
  protected abstract authorize(req: RecordedRequest): FakeResponse | null;
  protected abstract handle(req: RecordedRequest): FakeResponse;
  /** Breaks a successful body so it no longer matches the documented schema. */
  protected abstract malform(body: unknown): unknown;

  get url(): string {
    if (this.baseUrl === undefined) throw new Error('fake not started: call start() first');
    return this.baseUrl;
  }

  get pendingFaults(): number {
    return this.faults.length;
  }

  async start(): Promise<string> {
    if (this.baseUrl !== undefined) return this.baseUrl;
    const server = createServer((req, res) => {
      void this.onRequest(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.baseUrl = undefined;
    await new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      // Keep-alive sockets would otherwise hold close() open until they time out.
      server.closeAllConnections();
    });
  }

  /** Queues faults; each is consumed by the next matching request, in order, before normal handling. */
  fail(...faults: Fault[]): this {
    this.faults.push(...faults);
    return this;
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Deterministic request/correlation ids. */
  protected nextId(): string {
    this.idCounter += 1;
    return deterministicUuid(this.idCounter, 0xfeed);
  }

  protected error(status: number, body: unknown = this.errorBody(status)): FakeResponse {
    return { status, body };
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let recorded: RecordedRequest | undefined;
    try {
      const rawBody = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const parsed = parseBody(rawBody, req.headers['content-type']);
      recorded = {
        method: (req.method ?? 'GET').toUpperCase(),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: flattenHeaders(req),
        body: parsed.ok ? parsed.value : undefined,
        rawBody,
        at: performance.now(),
      };
      this.requests.push(recorded);
      const response = await this.respond(recorded, parsed.ok);
      recorded.status = response.status;
      send(res, response);
    } catch (err) {
      if (recorded) recorded.status = 500;
      // A bug in a fake should surface as a server error to the client under test, not crash the run.
      this.lastError = err;
      send(res, { status: 500, body: this.errorBody(500) });
    }
  }

  private async respond(req: RecordedRequest, bodyOk: boolean): Promise<FakeResponse> {
    const fault = this.takeFault(req.path);
    if (!fault) return this.normal(req, bodyOk, true);
    if ('status' in fault) return this.faultResponse(fault);
    if ('delayMs' in fault) {
      await sleep(fault.delayMs);
      return this.normal(req, bodyOk, false);
    }
    const response = this.normal(req, bodyOk, false);
    return response.status < 300 ? { ...response, body: this.malform(response.body) } : response;
  }

  private takeFault(path: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.path === undefined || path.includes(f.path));
    return index < 0 ? undefined : this.faults.splice(index, 1)[0];
  }

  private faultResponse(fault: StatusFault): FakeResponse {
    if (fault.status === 429) this.injected429 += 1;
    const headers: Record<string, string> = {};
    if (fault.retryAfterSeconds !== undefined && this.retryAfterHeader) headers['retry-after'] = String(fault.retryAfterSeconds);
    return { status: fault.status, body: fault.body ?? this.errorBody(fault.status, fault.retryAfterSeconds), headers, raw: fault.raw };
  }

  private normal(req: RecordedRequest, bodyOk: boolean, limited: boolean): FakeResponse {
    const denied = this.authorize(req);
    if (denied) return denied;
    let limitHeaders: Record<string, string> = {};
    if (limited && this.limiter) {
      const decision = this.limiter.take(performance.now());
      limitHeaders = decision.headers;
      if (!decision.ok) {
        this.rateLimited += 1;
        const retryAfter = decision.retryAfterSeconds;
        const retryHeader: Record<string, string> = this.retryAfterHeader ? { 'retry-after': String(retryAfter) } : {};
        return { status: 429, body: this.errorBody(429, retryAfter), headers: { ...limitHeaders, ...retryHeader } };
      }
    }
    const response = bodyOk ? this.handle(req) : this.error(400);
    return { ...response, headers: { ...limitHeaders, ...response.headers } };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Empty body → undefined; form bodies are accepted too (the Telegram Bot API takes both). */
function parseBody(raw: string, contentType: string | undefined): { ok: true; value: unknown } | { ok: false } {
  if (raw.trim() === '') return { ok: true, value: undefined };
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    return { ok: true, value: Object.fromEntries(new URLSearchParams(raw)) };
  }
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false };
  }
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function send(res: ServerResponse, response: FakeResponse): void {
  // The socket may already be gone (client aborted, or close() during a delayed response).
  if (res.destroyed || res.headersSent) return;
  if (response.raw !== undefined) {
    res.writeHead(response.status, { ...response.headers, 'content-type': 'text/html; charset=utf-8' });
    res.end(response.raw);
    return;
  }
  res.writeHead(response.status, { ...response.headers, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(response.body));
}
