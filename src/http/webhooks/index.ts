/** POST /v1/webhooks/*. Placeholder of the contract; the webhooks work replaces it. */
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../deps';

export async function registerWebhooks(_app: FastifyInstance, _deps: HttpDeps): Promise<void> {}
