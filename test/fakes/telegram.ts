import { type FakeResponse, HttpFake, type RecordedRequest, SlidingWindow, TokenBucket, breakFirstItem, isRecord } from './http-fake';

export interface TelegramFakeOptions {
  token?: string;
  /** Default: 30 per second, bursts of 30 (Telegram's documented global bot limit). */
  rateLimit?: { perSecond: number; burst: number } | false;
  /**
   * Whether a 429 also carries a Retry-After header. Default false: the Bot API documents the
   * wait only in the body (parameters.retry_after), so clients must read it there.
   */
  retryAfterHeader?: boolean;
  /**
   * sendMessage to one chat: at most this many per second (Telegram's FAQ: "avoid sending more
   * than one message per second" in a chat), answered 429 with retry_after past it. Default 1;
   * false turns it off.
   */
  perChatPerSecond?: number | false;
}

export interface TelegramUpdate {
  update_id: number;
  message: {
    message_id: number;
    from: { id: number; is_bot: false; first_name: string };
    chat: { id: number; type: 'private'; first_name: string };
    date: number;
    text: string;
  };
}

export interface UserMessage {
  chatId: number;
  /** Defaults to chatId (a private chat's id is the user's id). */
  fromId?: number;
  text: string;
  /** Unix seconds; defaults to a fixed, increasing clock so data stays deterministic. */
  date?: number;
  firstName?: string;
}

const FIRST_UPDATE_ID = 100_000;
const BASE_DATE = Date.parse('2026-01-01T00:00:00Z') / 1000;
const DESCRIPTIONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 500: 'Internal Server Error', 502: 'Bad Gateway' };

/** Fake of the Telegram Bot API getUpdates / sendMessage (https://core.telegram.org/bots/api). */
export class TelegramFake extends HttpFake {
  readonly token: string;
  /** Set by setWebhook: getUpdates then answers 409, as Telegram does, until deleteWebhook. */
  webhookUrl: string | null = null;
  /** Another process polls getUpdates with this token: each of ours is answered 409. */
  otherPoller = false;
  /** Messages the bot sent via sendMessage. */
  readonly sent: { chatId: number | string; text: string }[] = [];
  /** sendMessage 429s from the per-chat limit (also counted in rateLimited). */
  perChatRateLimited = 0;
  private readonly perChat: number | null;
  private readonly chatWindows = new Map<string, SlidingWindow>();
  private updates: TelegramUpdate[] = [];
  private nextUpdateId = FIRST_UPDATE_ID;
  private nextMessageId = 1;

  constructor(options: TelegramFakeOptions = {}) {
    const limit = options.rateLimit === false ? null : (options.rateLimit ?? { perSecond: 30, burst: 30 });
    super(limit ? new TokenBucket(limit.perSecond, limit.burst) : null);
    this.token = options.token ?? '123456:TEST-TOKEN';
    this.retryAfterHeader = options.retryAfterHeader ?? false;
    this.perChat = options.perChatPerSecond === false ? null : (options.perChatPerSecond ?? 1);
  }

  /** Queues an incoming private message as the next update. */
  sendFromUser(message: UserMessage): TelegramUpdate {
    const firstName = message.firstName ?? 'Tester';
    const update: TelegramUpdate = {
      update_id: this.nextUpdateId++,
      message: {
        message_id: this.nextMessageId++,
        from: { id: message.fromId ?? message.chatId, is_bot: false, first_name: firstName },
        chat: { id: message.chatId, type: 'private', first_name: firstName },
        date: message.date ?? BASE_DATE + this.nextMessageId,
        text: message.text,
      },
    };
    this.updates.push(update);
    return update;
  }

  /** Updates not yet confirmed by a getUpdates offset. */
  pending(): number {
    return this.updates.length;
  }

  protected errorBody(status: number, retryAfterSeconds = 1): unknown {
    if (status === 429) {
      return { ok: false, error_code: 429, description: `Too Many Requests: retry after ${retryAfterSeconds}`, parameters: { retry_after: retryAfterSeconds } };
    }
    return { ok: false, error_code: status, description: DESCRIPTIONS[status] ?? (status >= 500 ? 'Internal Server Error' : 'Bad Request') };
  }

  protected authorize(req: RecordedRequest): FakeResponse | null {
    const route = parseRoute(req.path);
    if (!route) return this.error(404);
    return route.token === this.token ? null : this.error(401);
  }

  protected handle(req: RecordedRequest): FakeResponse {
    const method = parseRoute(req.path)?.method.toLowerCase();
    // Like Telegram, parameters may come in the query string or the body (body wins).
    const params = { ...req.query, ...(isRecord(req.body) ? req.body : {}) };
    if (method === 'getupdates' && (req.method === 'GET' || req.method === 'POST')) return this.getUpdates(params);
    if (method === 'setwebhook' && req.method === 'POST') return this.setWebhook(params);
    if (method === 'deletewebhook' && (req.method === 'GET' || req.method === 'POST')) return this.deleteWebhook();
    if (method === 'sendmessage' && req.method === 'POST') return this.sendMessage(params);
    return this.error(404);
  }

  protected malform(body: unknown): unknown {
    // getUpdates answers a list (lose update_id); sendMessage a single message (lose message_id).
    const isList = isRecord(body) && Array.isArray(body.result);
    return breakFirstItem(body, 'result', isList ? 'update_id' : 'message_id');
  }

  private getUpdates(params: Record<string, unknown>): FakeResponse {
    if (this.webhookUrl !== null) return this.conflict("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    if (this.otherPoller) return this.conflict('Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
    const offset = params.offset === undefined ? 0 : Number(params.offset);
    const rawLimit = params.limit === undefined ? 100 : Number(params.limit);
    if (!Number.isInteger(offset) || !Number.isInteger(rawLimit)) return this.badRequest('Bad Request: invalid offset or limit');
    // Telegram clamps limit into 1..100 rather than rejecting it; timeout is ignored (answer at once).
    const limit = Math.min(100, Math.max(1, rawLimit));
    this.confirm(offset);
    return { status: 200, body: { ok: true, result: this.updates.slice(0, limit) } };
  }

  /** Updates below a positive offset are forgotten; a negative offset keeps only the last |offset|. */
  private confirm(offset: number): void {
    if (offset > 0) this.updates = this.updates.filter((u) => u.update_id >= offset);
    else if (offset < 0) this.updates = this.updates.slice(offset);
  }

  private sendMessage(params: Record<string, unknown>): FakeResponse {
    const { chat_id: rawChatId, text } = params;
    if (rawChatId === undefined || rawChatId === '') return this.badRequest('Bad Request: chat_id is empty');
    if (typeof text !== 'string' || text === '') return this.badRequest('Bad Request: message text is empty');
    const chatId = typeof rawChatId === 'number' || /^-?\d+$/.test(String(rawChatId)) ? Number(rawChatId) : String(rawChatId);
    if (this.perChat !== null) {
      const key = String(chatId);
      const window = this.chatWindows.get(key) ?? new SlidingWindow(this.perChat, 1000);
      this.chatWindows.set(key, window);
      const decision = window.take(performance.now());
      if (!decision.ok) {
        this.rateLimited += 1;
        this.perChatRateLimited += 1;
        return { status: 429, body: this.errorBody(429, decision.retryAfterSeconds) };
      }
    }
    this.sent.push({ chatId, text });
    const result = {
      message_id: this.nextMessageId++,
      from: { id: Number(this.token.split(':')[0]), is_bot: true, first_name: 'Test Bot' },
      chat: { id: chatId, type: 'private' },
      date: Math.floor(Date.now() / 1000),
      text,
    };
    return { status: 200, body: { ok: true, result } };
  }

  private setWebhook(params: Record<string, unknown>): FakeResponse {
    if (typeof params.url !== 'string') return this.badRequest('Bad Request: bad webhook: url is empty');
    this.webhookUrl = params.url === '' ? null : params.url;
    return { status: 200, body: { ok: true, result: true, description: this.webhookUrl ? 'Webhook was set' : 'Webhook was deleted' } };
  }

  private deleteWebhook(): FakeResponse {
    const had = this.webhookUrl !== null;
    this.webhookUrl = null;
    return { status: 200, body: { ok: true, result: true, description: had ? 'Webhook was deleted' : 'Webhook is already deleted' } };
  }

  private conflict(description: string): FakeResponse {
    return this.error(409, { ok: false, error_code: 409, description });
  }

  private badRequest(description: string): FakeResponse {
    return this.error(400, { ok: false, error_code: 400, description });
  }
}

function parseRoute(path: string): { token: string; method: string } | null {
  const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(path);
  return match?.[1] && match[2] ? { token: decodeURIComponent(match[1]), method: match[2] } : null;
}
