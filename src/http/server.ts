/**
 * The HTTP API (Fastify): /healthz and /readyz, /metrics, the authenticated /v1 routes (jobs,
 * runs, controls) and the webhooks, which carry their own secrets. It listens on loopback unless
 * configured otherwise; without OPS_API_TOKEN the /v1 routes are not there at all.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { requireBearer } from './auth';
import type { HttpDeps } from './deps';
import { handleError } from './errors';
import { registerMetrics } from './metrics';
import { registerControls } from './routes/controls';
import { registerHealth } from './routes/health';
import { registerJobs } from './routes/jobs';
import { registerRuns } from './routes/runs';
import { registerWebhooks } from './webhooks';

/** Run ids are at most 255 characters; a longer one gets a 400 naming the limit, not a bare 404. */
const MAX_PARAM_LENGTH = 1024;

export interface HttpApi {
  /** host:port it listens on (the real port when the configured one is 0). */
  address: string;
  close(): Promise<void>;
}

/** One debug line per request (method, url, status, time); failures are logged by the error handler. */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override routeNotFound(): void {}
  override defaultErrorLog(): void {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    if (error) request.log.warn({ ...line, err: error }, 'request errored');
    else request.log.debug(line, 'request');
  }
}

/** The app without a listening socket: tests call app.inject() on it, startHttpApi listens. */
export async function buildHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const logger = deps.logger.child({ component: 'http' });
  const app = Fastify({
    // As Fastify's base logger type, so the instance is the plain FastifyInstance the route modules take.
    loggerInstance: logger as FastifyBaseLogger,
    logController: new OneLinePerRequest(),
    bodyLimit: config.http.bodyLimitBytes,
    maxParamLength: MAX_PARAM_LENGTH,
    // Idle keep-alive connections must not hold a shutdown; requests under way are answered
    // (the jobs route ends its long waits at close, with a 202).
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((err, request, reply) => handleError(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}` }),
  );

  await app.register(async (scope) => registerHealth(scope, deps));
  await app.register(async (scope) => registerMetrics(scope, deps));
  await app.register(async (scope) => registerWebhooks(scope, deps));

  const token = config.http.token;
  if (token) {
    await app.register(async (scope) => {
      scope.addHook('onRequest', requireBearer(token));
      // JSON only: text/plain (Fastify's other default) gets 415 like any other type.
      scope.removeContentTypeParser('text/plain');
      await registerJobs(scope, deps);
      await registerRuns(scope, deps);
      await registerControls(scope, deps);
    });
  } else {
    logger.warn('HTTP API: the /v1 routes (jobs, runs, controls) are off: no token is configured (set OPS_API_TOKEN, at least 16 characters)');
  }
  await app.ready();
  return app;
}

export function parseListenAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

export async function startHttpApi(deps: HttpDeps): Promise<HttpApi> {
  const app = await buildHttpApp(deps);
  const { host, port } = parseListenAddress(deps.config.http.address);
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    throw new Error(`the HTTP API cannot listen on ${deps.config.http.address} (OPS_HTTP_ADDRESS): ${(err as Error).message}`, { cause: err });
  }
  const bound = app.server.address();
  const address = bound && typeof bound === 'object' ? `${host}:${bound.port}` : deps.config.http.address;
  deps.logger.info({ address, v1: Boolean(deps.config.http.token) }, `HTTP API listening on http://${address}`);
  return { address, close: () => app.close() };
}
