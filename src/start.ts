/**
 * `npm start`: Temporal reachable (or a dev server of our own), store migrated, ops-controls
 * running, schedules reconciled, then the worker and the HTTP API (bootstrap.ts) until Ctrl-C /
 * SIGTERM. Temporal is supervised the whole time (temporal/supervisor.ts).
 *
 * Exit codes: 0 stopped by Ctrl-C / SIGTERM; 1 could not start (config, Temporal, store) or the
 * worker failed; 75 (EX_TEMPFAIL) Temporal was lost while running and could not be brought back,
 * so whatever supervises npm start should start it again.
 */
import { bootstrap, startHttp } from './bootstrap';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { installRuntime } from './runtime';
import { superviseTemporal } from './temporal/supervisor';
import type { OpsWorker } from './worker';

const EXIT_TEMPORAL_LOST = 75;
/** After Temporal is lost, how long the worker may take to stop (its polls may hang on a server that no longer answers). */
const LOST_SHUTDOWN_GRACE_MS = 10_000;

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
  await installRuntime(config, logger);

  const supervisor = await superviseTemporal(config, logger);
  const temporal = supervisor.current();
  const cleanups: (() => Promise<void>)[] = [() => supervisor.stop()];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => logger.error({ err }, 'shutdown step failed'));
  };

  let worker: OpsWorker | undefined;
  let temporalLost = false;
  void supervisor.lost.then((why) => {
    temporalLost = true;
    process.exitCode = EXIT_TEMPORAL_LOST;
    logger.fatal({ why, exitCode: EXIT_TEMPORAL_LOST }, `personal-ops is stopping: ${why}`);
    // Start-up steps still under way fail against the missing server; the worker stops here.
    worker?.shutdown();
    setTimeout(() => {
      logger.fatal(`the worker did not stop within ${LOST_SHUTDOWN_GRACE_MS / 1000} s; exiting`);
      process.exit(EXIT_TEMPORAL_LOST);
    }, LOST_SHUTDOWN_GRACE_MS).unref();
  });
  let interrupted: NodeJS.Signals | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      interrupted = signal;
      // Before the worker runs, the start-up ends at its next step (below); the dev server is
      // stopped in `finally` either way.
      worker?.shutdown();
    });
  }
  const startingUp = (): void => {
    if (interrupted) throw new Interrupted(interrupted);
    if (temporalLost) throw new Error('Temporal was lost during start-up');
  };

  try {
    const onClose = (undo: () => Promise<void>): void => {
      cleanups.push(undo);
    };
    const booted = await bootstrap({ config, logger, onClose, checkpoint: startingUp });
    worker = booted.worker;
    startingUp();
    const http = await startHttp({ config, logger, onClose }, booted);
    startingUp();
    logger.info(
      {
        temporal: config.temporal.address,
        namespace: config.temporal.namespace,
        webUi: temporal.uiUrl,
        taskQueue: config.temporal.taskQueue,
        temporalOrigin: temporal.origin,
        devServerPid: temporal.pid,
        http: http?.address,
      },
      `personal-ops is running${temporal.uiUrl ? `; Temporal Web UI at ${temporal.uiUrl}` : ''}`,
    );
    await worker.run();
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
  } finally {
    await cleanup();
    logger.info({ exitCode: process.exitCode ?? 0 }, 'stopped');
  }
  if (temporalLost) process.exit(EXIT_TEMPORAL_LOST);
}

/** Ctrl-C / SIGTERM during start-up: a clean stop, not a failure. */
class Interrupted extends Error {
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`personal-ops failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(process.exitCode === EXIT_TEMPORAL_LOST ? EXIT_TEMPORAL_LOST : 1);
});
