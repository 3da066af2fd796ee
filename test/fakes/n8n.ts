import { type FakeResponse, HttpFake, type RecordedRequest, TokenBucket, breakFirstItem, isRecord } from './http-fake';

export type ExecutionStatus = 'error' | 'success' | 'running' | 'waiting' | 'canceled' | 'crashed';

export interface ExecutionSeed {
  id: number;
  workflowId: string;
  status: ExecutionStatus;
  startedAt: string;
  stoppedAt?: string;
}

export interface N8nFakeOptions {
  apiKey?: string;
  executions?: ExecutionSeed[];
  /** Default: 5 per second, bursts of 5. */
  rateLimit?: { perSecond: number; burst: number } | false;
}

export const N8N_EXECUTIONS_PATH = '/api/v1/executions';
const STATUSES: readonly string[] = ['error', 'success', 'running', 'waiting', 'canceled', 'crashed'];
const MAX_LIMIT = 250;

/** Fake of n8n's public API v1 GET /executions (https://docs.n8n.io/api/api-reference/). */
export class N8nFake extends HttpFake {
  readonly apiKey: string;
  private readonly store = new Map<number, ExecutionSeed>();

  constructor(options: N8nFakeOptions = {}) {
    const limit = options.rateLimit === false ? null : (options.rateLimit ?? { perSecond: 5, burst: 5 });
    super(limit ? new TokenBucket(limit.perSecond, limit.burst) : null);
    this.apiKey = options.apiKey ?? 'n8n-test-key';
    for (const execution of options.executions ?? []) this.addExecution(execution);
  }

  get executions(): ExecutionSeed[] {
    return [...this.store.values()].map((e) => ({ ...e }));
  }

  addExecution(seed: ExecutionSeed): void {
    this.store.set(seed.id, { ...seed });
  }

  /**
   * Appends an execution that is still running, with the next id. Like n8n's public API, the
   * list never shows it while it runs; finish() ends it later, keeping its (now older) id.
   */
  startRunning(workflowId: string, startIso: string): ExecutionSeed {
    const id = Math.max(0, ...this.store.keys()) + 1;
    const execution: ExecutionSeed = { id, workflowId, status: 'running', startedAt: startIso };
    this.addExecution(execution);
    return { ...execution };
  }

  /** Ends a running execution (e.g. it fails long after executions with newer ids did). */
  finish(id: number, status: Exclude<ExecutionStatus, 'running'>, stoppedIso: string): ExecutionSeed {
    const execution = this.store.get(id);
    if (!execution) throw new Error(`N8nFake: no execution ${id}`);
    if (execution.status !== 'running') throw new Error(`N8nFake: execution ${id} is ${execution.status}, not running`);
    const finished = { ...execution, status, stoppedAt: stoppedIso };
    this.store.set(id, finished);
    return { ...finished };
  }

  /** Appends `count` failed executions with the next ids, started one second apart from `startIso`. */
  addFailures(workflowId: string, count: number, startIso = '2026-01-01T00:00:00.000Z'): ExecutionSeed[] {
    const start = Date.parse(startIso);
    const firstId = Math.max(0, ...this.store.keys()) + 1;
    const added = Array.from({ length: count }, (_, i): ExecutionSeed => ({
      id: firstId + i,
      workflowId,
      status: 'error',
      startedAt: new Date(start + i * 1000).toISOString(),
      stoppedAt: new Date(start + i * 1000 + 500).toISOString(),
    }));
    for (const execution of added) this.addExecution(execution);
    return added;
  }

  protected errorBody(status: number): unknown {
    const messages: Record<number, string> = { 400: 'Bad Request', 401: 'unauthorized', 404: 'not found', 429: 'Too Many Requests' };
    return { message: messages[status] ?? 'Internal Server Error' };
  }

  protected authorize(req: RecordedRequest): FakeResponse | null {
    return req.headers['x-n8n-api-key'] === this.apiKey ? null : this.error(401);
  }

  protected handle(req: RecordedRequest): FakeResponse {
    if (req.method !== 'GET' || req.path !== N8N_EXECUTIONS_PATH) return this.error(404);
    const { status, workflowId, cursor } = req.query;
    if (status !== undefined && !STATUSES.includes(status)) return this.invalid(`request/query/status must be equal to one of the allowed values: ${STATUSES.join(', ')}`);
    const decoded = cursor === undefined ? { lastId: Infinity, limit: undefined } : decodeCursor(cursor);
    if (!decoded) return this.invalid('An invalid cursor was provided');
    const limit = Number(req.query.limit ?? decoded.limit ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return this.invalid(`request/query/limit must be <= ${MAX_LIMIT}`);
    // Newest first, as n8n orders by id descending; the cursor continues below the last id returned.
    // Running executions are left out, whatever the filter, as n8n leaves out its active ones.
    const matching = [...this.store.values()]
      .filter((e) => e.status !== 'running')
      .filter((e) => (status === undefined || e.status === status) && (workflowId === undefined || e.workflowId === workflowId))
      .filter((e) => e.id < decoded.lastId)
      .sort((a, b) => b.id - a.id);
    const page = matching.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = matching.length > limit && last ? encodeCursor(last.id, limit) : null;
    return { status: 200, body: { data: page.map(toExecution), nextCursor } };
  }

  protected malform(body: unknown): unknown {
    return breakFirstItem(body, 'data', 'id');
  }

  private invalid(message: string): FakeResponse {
    return this.error(400, { message });
  }
}

/** Like n8n: base64 of a small JSON document; opaque to clients. */
function encodeCursor(lastId: number, limit: number): string {
  return Buffer.from(JSON.stringify({ lastId, limit })).toString('base64');
}

function decodeCursor(cursor: string): { lastId: number; limit: number | undefined } | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8'));
    if (!isRecord(parsed) || typeof parsed.lastId !== 'number') return null;
    return { lastId: parsed.lastId, limit: typeof parsed.limit === 'number' ? parsed.limit : undefined };
  } catch {
    return null;
  }
}

function toExecution(e: ExecutionSeed): unknown {
  return {
    id: String(e.id),
    finished: e.status === 'success',
    mode: 'trigger',
    retryOf: null,
    retrySuccessId: null,
    startedAt: e.startedAt,
    stoppedAt: e.stoppedAt ?? null,
    workflowId: e.workflowId,
    waitTill: null,
    status: e.status,
  };
}
