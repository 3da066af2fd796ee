/** The webhook routes on a Fastify app of their own (the API server's other routes are not needed), and HubSpot's signing as HubSpot does it. */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/client';
import { registerWebhooks } from '../../src/http/webhooks';
import { createLogger } from '../../src/logger';
import type { TestSystem } from '../helpers/system';

export async function webhookApp(sys: TestSystem): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: sys.config.http.bodyLimitBytes });
  await app.register(async (scope) => registerWebhooks(scope, { config: sys.config, ops: sys.ops, logger: createLogger('silent') }));
  await app.ready();
  return app;
}

export const PUBLIC_HOST = 'ops.example.com';
export const SIGNED_URI = `https://${PUBLIC_HOST}/v1/webhooks/hubspot`;

/** Written from HubSpot's description, apart from the route's code: method + URI + body + timestamp, HMAC-SHA256, base64. */
export function hubspotHeaders(secret: string, body: string, options: { timestampMs?: number; uri?: string } = {}): Record<string, string> {
  const timestamp = String(options.timestampMs ?? Date.now());
  const signature = createHmac('sha256', secret).update(`POST${options.uri ?? SIGNED_URI}${body}${timestamp}`, 'utf8').digest('base64');
  return {
    'content-type': 'application/json',
    host: PUBLIC_HOST,
    'x-forwarded-proto': 'https',
    'x-hubspot-signature-v3': signature,
    'x-hubspot-request-timestamp': timestamp,
  };
}

let eventIds = 1;
export function contactEvent(contactId: number, subscriptionType = 'contact.propertyChange'): Record<string, unknown> {
  return {
    eventId: eventIds++,
    subscriptionId: 12345,
    portalId: 62515,
    appId: 54321,
    occurredAt: Date.now(),
    subscriptionType,
    attemptNumber: 0,
    objectId: contactId,
    changeSource: 'CRM',
    ...(subscriptionType === 'contact.propertyChange' ? { propertyName: 'firstname', propertyValue: 'x' } : {}),
  };
}

/** Whether a workflow with this id was ever started. */
export async function workflowExists(sys: TestSystem, workflowId: string): Promise<boolean> {
  try {
    await sys.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Waits until the workflow (its latest run, after any continue-as-new) is closed. */
export async function closed(sys: TestSystem, workflowId: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await sys.client.workflow.getHandle(workflowId).describe();
    if (status.name !== 'RUNNING') return status.name;
    if (Date.now() > deadline) throw new Error(`${workflowId} still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A pass-through proxy in front of the HubSpot fake that holds each contact read for `delayMs`
 * and records how many reads of one contact were in flight at once (the per-contact guarantee
 * measured at the API, not inferred from the code).
 */
export class ContactReadProbe {
  private readonly inFlight = new Map<string, number>();
  readonly maxInFlight = new Map<string, number>();
  maxInFlightAll = 0;
  private all = 0;
  private server: Server | undefined;

  constructor(
    private readonly target: string,
    private readonly delayMs: number,
  ) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      void this.forward(req.method ?? 'GET', req.url ?? '/', req.headers, req).then(
        ({ status, body, type }) => res.writeHead(status, { 'content-type': type }).end(body),
        () => res.writeHead(502).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }

  private async forward(method: string, url: string, headers: NodeJS.Dict<string | string[]>, body: NodeJS.ReadableStream): Promise<{ status: number; body: string; type: string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
    const contact = method === 'GET' ? /^\/crm\/v3\/objects\/contacts\/(\d+)/.exec(url)?.[1] : undefined;
    if (contact) {
      const now = (this.inFlight.get(contact) ?? 0) + 1;
      this.inFlight.set(contact, now);
      this.maxInFlight.set(contact, Math.max(now, this.maxInFlight.get(contact) ?? 0));
      this.all += 1;
      this.maxInFlightAll = Math.max(this.maxInFlightAll, this.all);
    }
    try {
      if (contact) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      const response = await fetch(`${this.target}${url}`, {
        method,
        headers: { authorization: String(headers.authorization ?? ''), 'content-type': String(headers['content-type'] ?? 'application/json') },
        ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
      });
      return { status: response.status, body: await response.text(), type: response.headers.get('content-type') ?? 'application/json' };
    } finally {
      if (contact) {
        this.inFlight.set(contact, this.inFlight.get(contact)! - 1);
        this.all -= 1;
      }
    }
  }
}
