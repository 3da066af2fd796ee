/**
 * A voice call that speaks a text: Twilio Programmable Voice's Calls resource with inline TwiML
 * (https://www.twilio.com/docs/voice/api/call-resource). No retries here: Temporal retries by category.
 *
 * Plain fetch rather than the official `twilio` SDK (6.2.0 checked): it has no base-URL option
 * (only region/edge, which rewrite *.twilio.com host names, also from TWILIO_REGION/TWILIO_EDGE in
 * the environment), so reaching a local fake means overwriting its Domain's baseUrl or swapping in
 * an httpClient; and its RestException keeps no response headers, so a 429's Retry-After is lost.
 */
import { z } from 'zod';
import { TransientError, ValidationError } from '../errors';
import { errorDetail, httpFailure, parseResponse, readJson } from './http';
import { E164 } from '../phone';

export interface TwilioSettings {
  accountSid: string;
  authToken: string;
  /** The caller id: a Twilio number (or verified caller id) in E.164. */
  from: string;
  /** e.g. https://api.twilio.com */
  baseUrl: string;
  timeoutMs: number;
  /** A <Say> voice (https://www.twilio.com/docs/voice/twiml/say/text-speech); default Polly.Joanna. */
  voice?: string;
}

export const DEFAULT_TWILIO_VOICE = 'Polly.Joanna';
/** Twilio rejects inline TwiML over 4000 characters (error 32018). */
export const TWILIO_MAX_TWIML = 4000;

const callSchema = z.object({
  sid: z.string().regex(/^CA[0-9a-fA-F]{32}$/, 'not a call sid (CA + 32 hex digits)'),
  status: z.string(),
});
const errorSchema = z.object({ code: z.number().optional(), message: z.string().optional() });

export class TwilioVoice {
  constructor(private readonly settings: TwilioSettings) {}

  /** Places the call; it is queued when this returns. */
  async placeCall(to: string, text: string): Promise<{ sid: string }> {
    if (!E164.test(to)) throw new ValidationError(`Twilio: "to" must be an E.164 phone number like +15551234567, got ${JSON.stringify(to)}`);
    if (text.trim() === '') throw new ValidationError('Twilio: the text to speak is empty');
    const twiml = sayTwiml(text, this.settings.voice ?? DEFAULT_TWILIO_VOICE);
    if (twiml.length > TWILIO_MAX_TWIML) {
      throw new ValidationError(`Twilio: the call's TwiML is ${twiml.length} characters, over Twilio's limit of ${TWILIO_MAX_TWIML}`);
    }
    const { accountSid, authToken } = this.settings;
    let response: Response;
    try {
      response = await fetch(`${this.settings.baseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Calls.json`, {
        method: 'POST',
        headers: {
          Authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ To: to, From: this.settings.from, Twiml: twiml }).toString(),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (err) {
      throw new TransientError(`Twilio unreachable: ${(err as Error).message}`, { cause: err });
    }
    if (!response.ok) {
      const detail = errorDetail(await response.text().catch(() => ''), errorSchema, describeError, authToken);
      throw httpFailure('Twilio', response.status, detail, response.headers.get('retry-after'));
    }
    const call = parseResponse('Twilio create call', callSchema, await readJson('Twilio create call', response));
    return { sid: call.sid };
  }
}

/** `<Response><Say voice="…">text</Say></Response>`, with the text and the voice XML-escaped. */
export function sayTwiml(text: string, voice: string): string {
  return `<Response><Say voice="${escapeXml(voice)}">${escapeXml(text)}</Say></Response>`;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c);
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Twilio's error body is `{ code, message, more_info, status }`: the message and its code. */
function describeError(body: z.infer<typeof errorSchema>): string | undefined {
  if (body.message === undefined) return undefined;
  return body.code === undefined ? body.message : `${body.message} (Twilio error ${body.code})`;
}
