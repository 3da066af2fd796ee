/**
 * The Temporal SDK's process-wide Runtime: its logs go to our logger, and its own metrics (workflow
 * task latency, schedule-to-start, slots, polls) to a Prometheus endpoint on loopback that our
 * GET /metrics reads and appends (src/metrics/sdk-scrape.ts). Installed once per process, before
 * any connection or worker is made (start.ts, worker-main.ts).
 */
import { createServer } from 'node:net';
import { Runtime, makeTelemetryFilterString, type RuntimeOptions } from '@temporalio/worker';
import type { Config } from './config';
import { temporalLoggerFor, type Logger } from './logger';

/** Core's exporter binds its port itself: a port another process takes in between fails the install, so a few tries. */
const BIND_ATTEMPTS = 3;
const SDK_METRICS_HOST = '127.0.0.1';

let sdkMetricsUrl: string | undefined;

/** Where this process's SDK metrics are served (http://127.0.0.1:<port>/metrics), or undefined when off. */
export function sdkMetricsEndpoint(): string | undefined {
  return sdkMetricsUrl;
}

/**
 * Installs the Runtime. The SDK's metrics exporter is on when this process serves HTTP (nobody
 * would scrape it otherwise); a port that cannot be bound leaves it off with a warning, since
 * metrics are not worth a worker that does not start.
 */
export async function installRuntime(config: Config, logger: Logger): Promise<void> {
  const base: RuntimeOptions = {
    logger: temporalLoggerFor(logger),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  };
  if (!config.http.enabled) {
    Runtime.install(base);
    return;
  }
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
    const bindAddress = `${SDK_METRICS_HOST}:${await freeLoopbackPort()}`;
    try {
      Runtime.install({ ...base, telemetryOptions: { ...base.telemetryOptions, metrics: sdkPrometheus(bindAddress) } });
      sdkMetricsUrl = `http://${bindAddress}/metrics`;
      logger.debug({ sdkMetrics: sdkMetricsUrl }, 'Temporal SDK metrics exporter listening');
      return;
    } catch (err) {
      // Only the exporter's bind is worth another port; anything else (installed twice) is a bug.
      if (!/prometheus/i.test((err as Error).message)) throw err;
      lastError = err as Error;
    }
  }
  logger.warn({ err: lastError }, 'Temporal SDK metrics are off: their exporter could not bind a loopback port');
  Runtime.install(base);
}

/**
 * Prometheus conventions (seconds, _total counters, unit suffixes), so the SDK's figures sit beside
 * ours without surprises; every name starts with temporal_, ours with ops_.
 */
function sdkPrometheus(bindAddress: string): NonNullable<NonNullable<RuntimeOptions['telemetryOptions']>['metrics']> {
  return {
    metricPrefix: 'temporal_',
    prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true },
  };
}

/** A port the OS says is free now (closed again before Core binds it: hence the retries above). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, SDK_METRICS_HOST, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port assigned'))));
    });
  });
}
