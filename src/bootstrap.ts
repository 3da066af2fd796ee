/**
 * The start-up steps `npm start` (start.ts) and the production worker (worker-main.ts) share:
 * store opened and migrated, Temporal connections, search attributes, ops-controls, schedules,
 * the worker; then the HTTP API beside it. Each step registers how it is undone; the caller runs
 * those in reverse order when it stops.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from './config';
import { sqlitePath } from './config';
import { OpsClient } from './client';
import { startHttpApi, type HttpApi } from './http/server';
import type { Logger } from './logger';
import { migrateToLatest, openStore } from './store';
import { temporalConnectionOptions } from './temporal/connection';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { createWorker, type OpsWorker } from './worker';

export interface BootstrapDeps {
  config: Config;
  logger: Logger;
  /** Registers how a step is undone (closing what it opened). */
  onClose: (undo: () => Promise<void>) => void;
  /** Called between steps: throws to end the start-up there (a signal, Temporal lost). */
  checkpoint?: () => void;
}

export interface Booted {
  ops: OpsClient;
  worker: OpsWorker;
}

export async function bootstrap({ config, logger, onClose, checkpoint = () => undefined }: BootstrapDeps): Promise<Booted> {
  const store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: sqlitePath(config) });
  onClose(() => store.close());
  const applied = await migrateToLatest(store);
  logger.info({ dialect: store.dialect, applied }, 'store ready');
  checkpoint();

  const connection = await Connection.connect(temporalConnectionOptions(config));
  onClose(() => connection.close());
  const client = new Client({ connection, namespace: config.temporal.namespace });
  await ensureSearchAttributes(connection, config.temporal.namespace, logger);
  const ops = new OpsClient(client, store, config);
  await ops.ensureControls();
  await ops.reconcileSchedules(logger);
  checkpoint();

  const nativeConnection = await NativeConnection.connect(temporalConnectionOptions(config));
  onClose(() => nativeConnection.close());
  const worker = await createWorker({ config, connection: nativeConnection, client, store, logger });
  return { ops, worker };
}

/**
 * The HTTP API beside the worker (so /readyz sees it); undefined when OPS_HTTP=false, or when it
 * cannot listen: the jobs matter more than the API, so that is logged as an error, not fatal.
 */
export async function startHttp(
  { config, logger, onClose }: Pick<BootstrapDeps, 'config' | 'logger' | 'onClose'>,
  { ops, worker }: Booted,
): Promise<HttpApi | undefined> {
  if (!config.http.enabled) {
    logger.info('HTTP API off (OPS_HTTP=false)');
    return undefined;
  }
  let api: HttpApi;
  try {
    api = await startHttpApi({ config, ops, logger, worker });
  } catch (err) {
    logger.error({ err }, `HTTP API off: ${(err as Error).message}; set OPS_HTTP_ADDRESS to a free address, or OPS_HTTP=false`);
    return undefined;
  }
  onClose(() => api.close());
  return api;
}
