/**
 * A worker in a process of its own, as on another host: the crash and multi-worker tests kill
 * or multiply it. Production's worker-main minus the start-up chores (migrations, schedules),
 * which the test process has already done. Config comes from OPS_CONFIG like production's.
 */
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, sqlitePath } from '../../src/config';
import { createLogger, temporalLoggerFor } from '../../src/logger';
import { openStore } from '../../src/store';
import { createWorker } from '../../src/worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  Runtime.install({
    logger: temporalLoggerFor(logger),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  const store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: sqlitePath(config) });
  const connection = await Connection.connect({ address: config.temporal.address });
  const native = await NativeConnection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const worker = await createWorker({ config, connection: native, client, store, logger });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  process.stdout.write('worker ready\n');
  await running;
  await native.close();
  await connection.close();
  await store.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
