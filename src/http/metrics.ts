/**
 * GET /metrics: Prometheus text (src/metrics/ops-metrics.ts says what is in it). Unauthenticated,
 * as Prometheus scrapes expect: it takes no input, tells counts and states only (no names, no
 * text of incidents or messages), and concurrent scrapes share one store read.
 */
import type { FastifyInstance } from 'fastify';
import { OpsMetrics, PROMETHEUS_CONTENT_TYPE } from '../metrics/ops-metrics';
import { sdkMetricsEndpoint } from '../runtime';
import type { HttpDeps } from './deps';

export async function registerMetrics(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  const metrics = new OpsMetrics({
    store: deps.ops.store,
    config: deps.config,
    logger: deps.logger,
    sdkEndpoint: sdkMetricsEndpoint,
    ...(deps.worker ? { workerState: () => deps.worker!.state() } : {}),
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.scrape();
    return reply.header('content-type', PROMETHEUS_CONTENT_TYPE).header('cache-control', 'no-store').send(text);
  });
}
