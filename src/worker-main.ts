/**
 * Production entry (docker-compose, more worker hosts): a worker against an existing Temporal
 * service, with no dev server, and the HTTP API beside it (OPS_HTTP=false turns it off, e.g. on a
 * second worker host). `npm start` is the all-in-one for a single machine; both start through
 * bootstrap.ts.
 */
import { bootstrap, startHttp } from './bootstrap';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { installRuntime } from './runtime';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  await installRuntime(config, logger);
  const undo: (() => Promise<void>)[] = [];
  const onClose = (step: () => Promise<void>): void => {
    undo.push(step);
  };
  try {
    const booted = await bootstrap({ config, logger, onClose });
    const http = await startHttp({ config, logger, onClose }, booted);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => booted.worker.shutdown());
    logger.info({ temporal: config.temporal.address, taskQueue: config.temporal.taskQueue, http: http?.address }, 'worker running');
    await booted.worker.run();
  } finally {
    for (const step of undo.reverse()) await step().catch((err: unknown) => logger.error({ err }, 'shutdown step failed'));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(1);
});
