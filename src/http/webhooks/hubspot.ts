/**
 * POST /v1/webhooks/hubspot: HubSpot's contact events, verified by its v3 signature over the raw
 * body, each named contact handed to its own workflow (hubspot-contact-<id>) with
 * signalWithStart. 200 once every contact is enqueued; 401 for a missing, wrong, stale, future or
 * replayed signature; 400 for a body that is not HubSpot's array of events; 503 when Temporal
 * cannot take them (HubSpot retries non-2xx answers). Nothing is enqueued on a refusal.
 *
 * The signed URI is scheme://host/path?query as HubSpot called it. Behind a reverse proxy that is
 * the proxy's public address: X-Forwarded-Proto and X-Forwarded-Host are used when present
 * (their first value), else the request's own Host and scheme. Trusting them is safe here: they
 * only choose which URI the signature is checked against, and a forger still needs the secret.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { JOB_SEARCH_ATTRIBUTE, type JobInput } from '../../definitions';
import { contactChangedSignal, HUBSPOT_CONTACT_WORKFLOW, hubspotContactWorkflowId, type ContactChanged } from '../../workflows/hubspot-contact-definitions';
import type { HttpDeps } from '../deps';
import { MAX_FUTURE_SKEW_MS, verifyHubSpotRequest } from './hubspot-signature';
import { firstHeader, issuesText, rawJsonParser } from './raw-body';

export const HUBSPOT_WEBHOOK_PATH = '/v1/webhooks/hubspot';

/** HubSpot's CRM object type id of contacts (events of the newer `object.*` subscriptions). */
const CONTACT_OBJECT_TYPE = '0-1';
/** One event is a few hundred bytes; this leaves room for long property values. */
const BYTES_PER_EVENT = 4096;
/** Signals carry at most this many event ids (the log's detail, not the work). */
const EVENT_IDS_PER_SIGNAL = 10;
/** signalWithStart calls in flight at once for one request. */
const ENQUEUE_CONCURRENCY = 8;

const eventSchema = z.object({
  eventId: z.number().int().nonnegative(),
  subscriptionId: z.number().int().optional(),
  portalId: z.number().int().optional(),
  appId: z.number().int().optional(),
  occurredAt: z.number().int().nonnegative(),
  subscriptionType: z.string().min(1).max(100),
  attemptNumber: z.number().int().nonnegative().optional(),
  objectId: z.number().int().positive(),
  objectTypeId: z.string().max(20).optional(),
  changeSource: z.string().max(200).optional(),
  propertyName: z.string().max(200).optional(),
  propertyValue: z.string().max(BYTES_PER_EVENT).optional(),
});
type HubSpotEvent = z.infer<typeof eventSchema>;

export async function registerHubSpotWebhook(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  const { config, logger } = deps;
  const { clientSecret, maxAgeSeconds, maxEvents } = config.webhooks.hubspot;
  if (!clientSecret) {
    logger.info({ route: HUBSPOT_WEBHOOK_PATH }, 'HubSpot webhook off: HUBSPOT_CLIENT_SECRET is not set');
    return;
  }
  const bodyLimit = Math.min(config.http.bodyLimitBytes, maxEvents * BYTES_PER_EVENT);
  const eventsSchema = z.array(eventSchema).min(1, 'expected at least one event').max(maxEvents, `at most ${maxEvents} events per request`);
  const replays = new ReplayGuard((maxAgeSeconds * 1000) + MAX_FUTURE_SKEW_MS);

  await app.register(async (scope) => {
    rawJsonParser(scope, bodyLimit);
    scope.post(HUBSPOT_WEBHOOK_PATH, { bodyLimit }, async (request: FastifyRequest, reply: FastifyReply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const signature = firstHeader(request, 'x-hubspot-signature-v3');
      const verdict = verifyHubSpotRequest(
        clientSecret,
        { method: request.method, uri: requestUri(request), body, signature, timestamp: firstHeader(request, 'x-hubspot-request-timestamp') },
        { nowMs: Date.now(), maxAgeSeconds },
      );
      if (!verdict.ok) {
        request.log.warn({ reason: verdict.reason }, 'HubSpot webhook refused');
        return reply.code(401).send({ error: `HubSpot signature refused: ${verdict.reason}` });
      }
      if (!replays.claim(signature!, verdict.timestampMs)) {
        request.log.warn('HubSpot webhook refused: replayed request');
        return reply.code(401).send({ error: 'HubSpot signature refused: this request was already received' });
      }
      const events = parseEvents(body, eventsSchema);
      if (!events.ok) {
        replays.release(signature!);
        return reply.code(400).send({ error: `HubSpot webhook body refused: ${events.error}` });
      }
      const contacts = contactsOf(events.value);
      try {
        await enqueueContacts(deps, contacts);
      } catch (err) {
        // HubSpot retries: the same request may then come again.
        replays.release(signature!);
        request.log.error({ err }, 'HubSpot webhook: could not enqueue the contact syncs');
        return reply.code(503).send({ error: 'could not enqueue the contact syncs; retry later' });
      }
      const ignored = events.value.length - [...contacts.values()].reduce((n, c) => n + c.eventIds.length, 0);
      return reply.code(200).send({ received: events.value.length, contacts: contacts.size, ignored });
    });
  });
  logger.info({ route: HUBSPOT_WEBHOOK_PATH, maxEvents, maxAgeSeconds }, 'HubSpot webhook on');
}

function parseEvents(body: Buffer, schema: z.ZodType<HubSpotEvent[]>): { ok: true; value: HubSpotEvent[] } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: issuesText(parsed.error) };
}

/** The contacts the events name, each with its events; events of other objects are ignored. */
function contactsOf(events: HubSpotEvent[]): Map<string, ContactChanged> {
  const contacts = new Map<string, ContactChanged>();
  for (const event of events) {
    const isContact = event.subscriptionType.startsWith('contact.') || (event.subscriptionType.startsWith('object.') && event.objectTypeId === CONTACT_OBJECT_TYPE);
    if (!isContact) continue;
    const id = String(event.objectId);
    const changed = contacts.get(id) ?? { eventIds: [], subscriptionTypes: [] };
    changed.eventIds.push(event.eventId);
    if (!changed.subscriptionTypes.includes(event.subscriptionType)) changed.subscriptionTypes.push(event.subscriptionType);
    contacts.set(id, changed);
  }
  return contacts;
}

/**
 * signalWithStart per contact: a running sync of the contact is marked dirty and reads it again
 * after its current pass; otherwise a new run starts. Never two runs of one contact at once.
 */
async function enqueueContacts(deps: HttpDeps, contacts: Map<string, ContactChanged>): Promise<void> {
  const queue = [...contacts.entries()];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [contactId, changed] = next;
      const input: JobInput = { trigger: 'manual', params: { contactId } };
      await deps.ops.temporal.workflow.signalWithStart(HUBSPOT_CONTACT_WORKFLOW, {
        workflowId: hubspotContactWorkflowId(contactId),
        taskQueue: deps.config.temporal.taskQueue,
        args: [input],
        signal: contactChangedSignal,
        signalArgs: [{ eventIds: changed.eventIds.slice(0, EVENT_IDS_PER_SIGNAL), subscriptionTypes: changed.subscriptionTypes }],
        typedSearchAttributes: [{ key: JOB_SEARCH_ATTRIBUTE, value: 'sync_hubspot' }],
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(ENQUEUE_CONCURRENCY, queue.length) }, worker));
}

function requestUri(request: FastifyRequest): string {
  const proto = firstHeader(request, 'x-forwarded-proto')?.split(',')[0]?.trim() || request.protocol;
  const host = firstHeader(request, 'x-forwarded-host')?.split(',')[0]?.trim() || request.headers.host || '';
  return `${proto}://${host}${request.url}`;
}

/**
 * Signatures accepted within their validity window, so the very same request cannot be played
 * again while its timestamp is still fresh (afterwards the age check refuses it). In memory and
 * per process: a second API process would accept one more copy, which only syncs a contact again.
 */
class ReplayGuard {
  private readonly seen = new Map<string, number>();
  private static readonly MAX_ENTRIES = 10_000;

  constructor(private readonly windowMs: number) {}

  /** False when this signature was accepted already. */
  claim(signature: string, timestampMs: number): boolean {
    const now = Date.now();
    for (const [key, expires] of this.seen) {
      if (expires > now && this.seen.size < ReplayGuard.MAX_ENTRIES) break;
      this.seen.delete(key);
    }
    if (this.seen.has(signature)) return false;
    this.seen.set(signature, Math.max(now, timestampMs) + this.windowMs);
    return true;
  }

  /** The request was refused after all: HubSpot's retry of it must be accepted. */
  release(signature: string): void {
    this.seen.delete(signature);
  }
}
