import { type FakeResponse, HttpFake, type RecordedRequest, TokenBucket, isRecord } from './http-fake';

export interface SalesmsgFakeOptions {
  token?: string;
  /** Default: 10 per second, bursts of 10. */
  rateLimit?: { perSecond: number; burst: number } | false;
}

export interface SalesmsgSent {
  to: string;
  message: string;
  numberId?: string;
}

/** The public API's base path; point a client at `fake.apiBase` (the fake's url plus this). */
export const SALESMSG_BASE_PATH = '/pub/v2.1';
export const SALESMSG_MESSAGES_PATH = `${SALESMSG_BASE_PATH}/messages`;
const E164 = /^\+[1-9]\d{6,14}$/;
const FIRST_MESSAGE_ID = 1001;
const MESSAGES: Record<number, string> = {
  400: 'The given data was invalid.',
  401: 'Unauthenticated.',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Attempts.',
};

/** Fake of Salesmsg's public API POST /messages (https://api.salesmessage.com/pub/v2.1): Bearer token, JSON in and out. */
export class SalesmsgFake extends HttpFake {
  readonly token: string;
  /** Messages accepted, in order. */
  readonly sent: SalesmsgSent[] = [];
  private nextMessageId = FIRST_MESSAGE_ID;

  constructor(options: SalesmsgFakeOptions = {}) {
    const limit = options.rateLimit === false ? null : (options.rateLimit ?? { perSecond: 10, burst: 10 });
    super(limit ? new TokenBucket(limit.perSecond, limit.burst) : null);
    this.token = options.token ?? 'salesmsg-test-token';
  }

  /** The base URL a client takes (the real one is https://api.salesmessage.com/pub/v2.1). */
  get apiBase(): string {
    return `${this.url}${SALESMSG_BASE_PATH}`;
  }

  protected errorBody(status: number): unknown {
    return { message: MESSAGES[status] ?? (status >= 500 ? 'Server Error' : 'Bad Request') };
  }

  protected authorize(req: RecordedRequest): FakeResponse | null {
    return req.headers.authorization === `Bearer ${this.token}` ? null : this.error(401);
  }

  protected handle(req: RecordedRequest): FakeResponse {
    if (req.path !== SALESMSG_MESSAGES_PATH) return this.error(404);
    if (req.method !== 'POST') return this.error(405);
    const params = isRecord(req.body) ? req.body : {};
    const { to, message, number_id: numberId } = params;
    const errors: Record<string, string[]> = {};
    if (typeof to !== 'string' || to === '') errors.to = ['The to field is required.'];
    else if (!E164.test(to)) errors.to = ['The to format is invalid.'];
    if (typeof message !== 'string' || message.trim() === '') errors.message = ['The message field is required.'];
    const numberOk = numberId === undefined || (typeof numberId === 'number' && Number.isInteger(numberId)) || (typeof numberId === 'string' && /^\d+$/.test(numberId));
    if (!numberOk) errors.number_id = ['The number id must be an integer.'];
    if (Object.keys(errors).length > 0 || typeof to !== 'string' || typeof message !== 'string') {
      return this.error(400, { message: MESSAGES[400], errors });
    }
    const sent: SalesmsgSent = { to, message, ...(numberId !== undefined ? { numberId: String(numberId) } : {}) };
    this.sent.push(sent);
    const id = this.nextMessageId++;
    return {
      status: 201,
      body: {
        id,
        status: 'queued',
        to,
        message,
        number_id: numberId === undefined ? null : Number(numberId),
        created_at: new Date().toISOString(),
      },
    };
  }

  protected malform(body: unknown): unknown {
    if (!isRecord(body)) return body;
    const copy = structuredClone(body);
    delete copy.id;
    return copy;
  }
}
