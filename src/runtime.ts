/**
 * The Temporal SDK's process-wide Runtime: its logs go to our logger. Installed once per process,
 * before any connection or worker is made (start.ts, worker-main.ts).
 */
import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Config } from './config';
import { temporalLoggerFor, type Logger } from './logger';

export function installRuntime(_config: Config, logger: Logger): void {
  Runtime.install({
    logger: temporalLoggerFor(logger),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
}
