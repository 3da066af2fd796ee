/** GET /metrics (Prometheus text). Placeholder of the contract; the metrics work replaces it. */
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from './deps';

export async function registerMetrics(_app: FastifyInstance, _deps: HttpDeps): Promise<void> {}
