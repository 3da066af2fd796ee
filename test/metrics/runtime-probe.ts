/**
 * installRuntime in a process of its own (the vitest process has its Runtime already): prints
 * where the SDK's metrics are served ("sdk metrics: <url>" or "sdk metrics: off"), and what that
 * URL answers. Config from the environment (OPS_HTTP=false turns HTTP off).
 */
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { installRuntime, sdkMetricsEndpoint } from '../../src/runtime';

async function main(): Promise<void> {
  const config = loadConfig();
  await installRuntime(config, createLogger('silent'));
  const url = sdkMetricsEndpoint();
  const status = url ? (await fetch(url)).status : 0;
  // The Runtime (and its exporter) would keep the process alive.
  process.stdout.write(`sdk metrics: ${url ?? 'off'} ${status}\n`, () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
