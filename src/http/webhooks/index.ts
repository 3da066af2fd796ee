/**
 * POST /v1/webhooks/*: HubSpot's contact events and Telegram's bot updates. Each route carries
 * its own secret (not the API's bearer token) and is off, said so in the log at start, while its
 * secret is not configured.
 */
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../deps';
import { registerHubSpotWebhook } from './hubspot';
import { registerTelegramWebhook } from './telegram';

export { HUBSPOT_WEBHOOK_PATH } from './hubspot';
export { TELEGRAM_WEBHOOK_PATH } from './telegram';

export async function registerWebhooks(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  await registerHubSpotWebhook(app, deps);
  await registerTelegramWebhook(app, deps);
}
