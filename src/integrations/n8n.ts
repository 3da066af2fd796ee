/**
 * n8n's public API (no official JS SDK): failed executions, newest first, cursor pagination.
 */
import { z } from 'zod';
import { TransientError } from '../errors';
import { httpFailure, parseResponse, readJson } from './http';

export interface N8nSettings {
  baseUrl: string;
  apiKey: string;
  pageSize: number;
  timeoutMs: number;
}

const executionSchema = z.object({
  // n8n sends ids as strings; older versions as numbers.
  id: z.union([z.string().regex(/^\d+$/), z.number().int()]).transform(Number),
  workflowId: z.union([z.string().min(1), z.number()]).transform(String),
  status: z.string().optional(),
  startedAt: z.string().nullable().optional(),
  stoppedAt: z.string().nullable().optional(),
});
const listSchema = z.object({ data: z.array(executionSchema), nextCursor: z.string().nullable().optional() });

export type N8nExecution = z.infer<typeof executionSchema>;

export class N8nSource {
  constructor(private readonly settings: N8nSettings) {}

  async failedExecutions(cursor: string | null): Promise<{ executions: N8nExecution[]; nextCursor: string | null }> {
    const url = new URL(`${this.settings.baseUrl}/api/v1/executions`);
    url.searchParams.set('status', 'error');
    url.searchParams.set('limit', String(this.settings.pageSize));
    url.searchParams.set('includeData', 'false');
    if (cursor) url.searchParams.set('cursor', cursor);
    const body = await this.list(url);
    return { executions: body.data, nextCursor: body.nextCursor ?? null };
  }

  /** The cheapest authenticated read (health_monitor): one execution, without its data. */
  async ping(): Promise<void> {
    const url = new URL(`${this.settings.baseUrl}/api/v1/executions`);
    url.searchParams.set('limit', '1');
    url.searchParams.set('includeData', 'false');
    await this.list(url);
  }

  private async list(url: URL): Promise<z.infer<typeof listSchema>> {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { 'X-N8N-API-KEY': this.settings.apiKey, accept: 'application/json' },
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (err) {
      throw new TransientError(`n8n unreachable: ${(err as Error).message}`, { cause: err });
    }
    if (!response.ok) {
      throw httpFailure('n8n', response.status, await response.text().catch(() => ''), response.headers.get('retry-after'));
    }
    return parseResponse('n8n executions', listSchema, await readJson('n8n executions', response));
  }
}
