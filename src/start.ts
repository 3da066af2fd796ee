/**
 * `npm start`: Temporal reachable (or a dev server of our own), store migrated, ops-controls
 * running, schedules reconciled, then the worker until Ctrl-C / SIGTERM.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { ConfigError, loadConfig, sqlitePath } from './config';
import { OpsClient } from './client';
import { createLogger, temporalLoggerFor } from './logger';
import { migrateToLatest, openStore } from './store';
import { ensureTemporal } from './temporal/dev-server';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { createWorker } from './worker';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  Runtime.install({
    logger: temporalLoggerFor(logger),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });

  const temporal = await ensureTemporal(config, logger);
  const cleanups: (() => Promise<void>)[] = [() => temporal.stop()];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => logger.error({ err }, 'shutdown step failed'));
  };
  try {
    const store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: sqlitePath(config) });
    cleanups.push(() => store.close());
    const applied = await migrateToLatest(store);
    logger.info({ dialect: store.dialect, applied }, 'store ready');

    const connection = await Connection.connect({ address: config.temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace });
    await ensureSearchAttributes(connection, config.temporal.namespace, logger);
    const ops = new OpsClient(client, store, config);
    await ops.ensureControls();
    await ops.reconcileSchedules(logger);

    const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
    cleanups.push(() => nativeConnection.close());
    const worker = await createWorker({ config, connection: nativeConnection, client, store, logger });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        logger.info({ signal }, 'shutting down');
        worker.shutdown();
      });
    }
    logger.info(
      {
        temporal: config.temporal.address,
        namespace: config.temporal.namespace,
        webUi: temporal.uiUrl,
        taskQueue: config.temporal.taskQueue,
      },
      `personal-ops is running${temporal.uiUrl ? `; Temporal Web UI at ${temporal.uiUrl}` : ''}`,
    );
    await worker.run();
  } finally {
    await cleanup();
    logger.info('stopped');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`personal-ops failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
