/**
 * Production entry (docker-compose, more worker hosts): a worker against an existing Temporal
 * service, with no dev server. `npm start` is the all-in-one for a single machine.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadConfig, sqlitePath } from './config';
import { OpsClient } from './client';
import { createLogger } from './logger';
import { installRuntime } from './runtime';
import { migrateToLatest, openStore } from './store';
import { temporalConnectionOptions } from './temporal/connection';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { createWorker } from './worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  await installRuntime(config, logger);
  const store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: sqlitePath(config) });
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const nativeConnection = await NativeConnection.connect(temporalConnectionOptions(config));
  try {
    await migrateToLatest(store);
    const client = new Client({ connection, namespace: config.temporal.namespace });
    await ensureSearchAttributes(connection, config.temporal.namespace, logger);
    const ops = new OpsClient(client, store, config);
    await ops.ensureControls();
    await ops.reconcileSchedules(logger);
    const worker = await createWorker({ config, connection: nativeConnection, client, store, logger });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => worker.shutdown());
    logger.info({ temporal: config.temporal.address, taskQueue: config.temporal.taskQueue }, 'worker running');
    await worker.run();
  } finally {
    await nativeConnection.close();
    await connection.close();
    await store.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(1);
});
