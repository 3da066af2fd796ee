/**
 * A process as production runs it for GET /metrics: installRuntime (so the SDK's exporter is on),
 * a worker, and a Fastify app with only the metrics plugin. The vitest process cannot test the
 * exporter itself: its Runtime is installed by the harness (test/helpers/setup-runtime.ts).
 * Config comes from OPS_CONFIG like production's; prints "metrics ready <port>".
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import Fastify from 'fastify';
import { OpsClient } from '../../src/client';
import { loadConfig, sqlitePath } from '../../src/config';
import { registerMetrics } from '../../src/http/metrics';
import { createLogger } from '../../src/logger';
import { installRuntime } from '../../src/runtime';
import { openStore } from '../../src/store';
import { createWorker } from '../../src/worker';
import { createTestActivities } from '../helpers/test-activities';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  await installRuntime(config, logger);
  const store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: sqlitePath(config) });
  const connection = await Connection.connect({ address: config.temporal.address });
  const native = await NativeConnection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  // The test workflows' own activities too, so a run has an activity task of the worker's (not only local ones).
  const worker = await createWorker({ config, connection: native, client, store, logger, extraActivities: createTestActivities().activities });
  const running = worker.run();
  const app = Fastify();
  await registerMetrics(app, { config, ops: new OpsClient(client, store, config), logger, worker });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.once('SIGTERM', () => {
    void app.close().then(() => worker.shutdown());
  });
  process.stdout.write(`metrics ready ${typeof address === 'object' && address ? address.port : 0}\n`);
  await running;
  await native.close();
  await connection.close();
  await store.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
