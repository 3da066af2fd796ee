/**
 * Salesmsg SMS (no official JS SDK; plain HTTPS): one text message to one E.164 number, from
 * the configured number (or the account's default when none is set). No retries here: Temporal
 * retries by category.
 */
import { z } from 'zod';
import { TransientError, ValidationError } from '../errors';
import { errorDetail, httpFailure, parseResponse, readJson } from './http';
import { E164 } from '../phone';

export interface SalesmsgSettings {
  token: string;
  /** e.g. https://api.salesmessage.com/pub/v2.1 */
  baseUrl: string;
  /** The Salesmsg number to send from; the account's default number when unset. */
  numberId?: string;
  timeoutMs: number;
}

const sentSchema = z.object({
  id: z.union([z.number().int(), z.string().min(1)]),
  status: z.string().optional(),
});
const errorSchema = z.object({
  message: z.string().optional(),
  errors: z.record(z.string(), z.array(z.string())).optional(),
});

export class SalesmsgClient {
  constructor(private readonly settings: SalesmsgSettings) {}

  async sendSms(to: string, text: string): Promise<{ id: string }> {
    if (!E164.test(to)) throw new ValidationError(`Salesmsg: "to" must be an E.164 phone number like +15551234567, got ${JSON.stringify(to)}`);
    if (text.trim() === '') throw new ValidationError('Salesmsg: the message text is empty');
    const numberId = this.settings.numberId;
    let response: Response;
    try {
      response = await fetch(`${this.settings.baseUrl}/messages`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${this.settings.token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify({ to, message: text, ...(numberId ? { number_id: numberId } : {}) }),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (err) {
      throw new TransientError(`Salesmsg unreachable: ${(err as Error).message}`, { cause: err });
    }
    if (!response.ok) {
      const detail = errorDetail(await response.text().catch(() => ''), errorSchema, describeError, this.settings.token);
      throw httpFailure('Salesmsg', response.status, detail, response.headers.get('retry-after'));
    }
    const body = parseResponse('Salesmsg send', sentSchema, await readJson('Salesmsg send', response));
    return { id: String(body.id) };
  }
}

/** The error body's message and its first field errors (Laravel-style). */
function describeError(body: z.infer<typeof errorSchema>): string | undefined {
  if (body.message === undefined) return undefined;
  const fields = Object.entries(body.errors ?? {})
    .slice(0, 3)
    .map(([field, messages]) => `${field}: ${messages.join(' ')}`);
  return fields.length ? `${body.message} (${fields.join('; ')})` : body.message;
}
