import { type FakeResponse, HttpFake, type RecordedRequest, TokenBucket, isRecord } from './http-fake';

export interface TwilioFakeOptions {
  accountSid?: string;
  authToken?: string;
  /**
   * Default: none. Twilio queues calls above an account's calls-per-second rather than rejecting
   * them; pass a limit to simulate its 429s (error 20429).
   */
  rateLimit?: { perSecond: number; burst: number } | false;
}

export interface TwilioCall {
  to: string;
  from: string;
  twiml: string;
  /** The text of the TwiML's <Say> verbs, XML-unescaped (joined with a space when there are several). */
  text: string;
}

const CALLS_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\.json$/;
const E164 = /^\+[1-9]\d{6,14}$/;
const MAX_TWIML = 4000;
const ERRORS: Record<number, { code: number; message: string }> = {
  400: { code: 20001, message: 'Bad Request' },
  401: { code: 20003, message: 'Authenticate' },
  404: { code: 20404, message: 'The requested resource was not found' },
  405: { code: 20004, message: 'Method not allowed' },
  429: { code: 20429, message: 'Too Many Requests' },
  503: { code: 20503, message: 'Service Unavailable' },
};

/**
 * Fake of Twilio Programmable Voice's POST /2010-04-01/Accounts/{AccountSid}/Calls.json
 * (https://www.twilio.com/docs/voice/api/call-resource): HTTP Basic auth, form-encoded in, JSON out.
 * It parses inline TwiML more strictly than Twilio is documented to (a raw `<` or `&` in a <Say> is a
 * 400 with error 12100), so a client that forgets to escape its text is caught here.
 */
export class TwilioFake extends HttpFake {
  readonly accountSid: string;
  readonly authToken: string;
  /** Calls accepted, in order. */
  readonly calls: TwilioCall[] = [];
  private callCounter = 0;

  constructor(options: TwilioFakeOptions = {}) {
    const limit = options.rateLimit ? options.rateLimit : null;
    super(limit ? new TokenBucket(limit.perSecond, limit.burst) : null);
    this.accountSid = options.accountSid ?? 'ACfeedfacefeedfacefeedfacefeedface';
    this.authToken = options.authToken ?? 'twilio-test-auth-token-0123456789';
  }

  protected errorBody(status: number): unknown {
    const known = ERRORS[status] ?? (status >= 500 ? { code: 20500, message: 'Internal Server Error' } : ERRORS[400]!);
    return twilioError(status, known.code, known.message);
  }

  protected authorize(req: RecordedRequest): FakeResponse | null {
    if (!CALLS_PATH.test(req.path)) return this.error(404);
    const credentials = basicCredentials(req.headers.authorization);
    const ok = credentials?.user === this.accountSid && credentials.password === this.authToken;
    return ok ? null : this.error(401);
  }

  protected handle(req: RecordedRequest): FakeResponse {
    const accountSid = decodeURIComponent(CALLS_PATH.exec(req.path)?.[1] ?? '');
    // Valid credentials for one account do not reach another account's resources.
    if (accountSid !== this.accountSid) {
      return this.error(404, twilioError(404, 20404, `The requested resource ${req.path} was not found`));
    }
    if (req.method !== 'POST') return this.error(405);
    const isForm = req.headers['content-type']?.includes('application/x-www-form-urlencoded') ?? false;
    const params = isForm && isRecord(req.body) ? req.body : {};
    const to = stringParam(params.To);
    const from = stringParam(params.From);
    const twiml = stringParam(params.Twiml);
    if (!to) return this.invalid(21201, "No 'To' number is specified");
    if (!E164.test(to)) return this.invalid(21211, `Invalid 'To' Phone Number: ${to}`);
    if (!from) return this.invalid(21213, "No 'From' number is specified");
    if (!twiml) return this.invalid(21205, 'Url parameter is required.');
    if (twiml.length > MAX_TWIML) return this.invalid(32018, `Twiml size exceeded maximum allowed value of ${MAX_TWIML} characters`);
    const text = spokenText(twiml);
    if (text === null) return this.invalid(12100, 'Document parse failure');
    this.calls.push({ to, from, twiml, text });
    return { status: 201, body: this.callResource(to, from) };
  }

  protected malform(body: unknown): unknown {
    if (!isRecord(body)) return body;
    const copy = structuredClone(body);
    delete copy.sid;
    return copy;
  }

  private callResource(to: string, from: string): Record<string, unknown> {
    this.callCounter += 1;
    // CA + 32 hex digits, like a real call sid; deterministic per fake.
    const sid = `CA${this.callCounter.toString(16).padStart(32, '0')}`;
    const uri = `/2010-04-01/Accounts/${this.accountSid}/Calls/${sid}`;
    return {
      sid,
      account_sid: this.accountSid,
      to,
      to_formatted: to,
      from,
      from_formatted: from,
      status: 'queued',
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: null,
      date_updated: null,
      start_time: null,
      end_time: null,
      duration: null,
      price: null,
      price_unit: 'USD',
      parent_call_sid: null,
      phone_number_sid: null,
      answered_by: null,
      caller_name: null,
      queue_time: '0',
      uri: `${uri}.json`,
      subresource_uris: { notifications: `${uri}/Notifications.json`, recordings: `${uri}/Recordings.json` },
    };
  }

  private invalid(code: number, message: string): FakeResponse {
    return this.error(400, twilioError(400, code, message));
  }
}

function twilioError(status: number, code: number, message: string): unknown {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function stringParam(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const SAY = /<Say(?:\s+[a-zA-Z-]+="[^"<]*")*\s*>([\s\S]*?)<\/Say>/g;
const RESPONSE = /^\s*(?:<\?xml[^>]*\?>\s*)?<Response>([\s\S]*)<\/Response>\s*$/;
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

/** The unescaped text of every <Say> in a <Response>, or null when the TwiML is not well formed. */
function spokenText(twiml: string): string | null {
  const inner = RESPONSE.exec(twiml)?.[1];
  if (inner === undefined) return null;
  // A bare `&` anywhere is malformed XML; so is a `<` inside text.
  if (inner.replace(ENTITY, '').includes('&')) return null;
  const texts: string[] = [];
  for (const match of inner.matchAll(SAY)) {
    const raw = match[1] ?? '';
    if (raw.includes('<')) return null;
    texts.push(unescapeXml(raw));
  }
  // Whatever is not a <Say> must still be tags (other verbs) and whitespace, not stray text.
  const rest = inner.replace(SAY, '').replace(/<[^<>]*>/g, '');
  return rest.trim() === '' ? texts.join(' ') : null;
}

function unescapeXml(text: string): string {
  return text.replace(ENTITY, (entity) => {
    const named: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" };
    if (named[entity]) return named[entity];
    const hex = entity.startsWith('&#x');
    return String.fromCodePoint(Number.parseInt(entity.slice(hex ? 3 : 2, -1), hex ? 16 : 10));
  });
}
