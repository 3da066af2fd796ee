/**
 * What the HTTP API's route modules get. Each module registers its routes as a Fastify plugin:
 * `export async function registerX(app: FastifyInstance, deps: HttpDeps): Promise<void>`.
 */
import type { Config } from '../config';
import type { OpsClient } from '../client';
import type { Logger } from '../logger';

export interface WorkerState {
  /** The worker's state as Temporal's Worker reports it (RUNNING when polling). */
  state(): string;
}

export interface HttpDeps {
  config: Config;
  /** Temporal (ops.temporal) and the store (ops.store) through the typed client. */
  ops: OpsClient;
  logger: Logger;
  /** The worker in this process; undefined when the API runs without one (then /readyz says so). */
  worker?: WorkerState;
}
