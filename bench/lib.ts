import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../src/definitions';
import { createLogger } from '../src/logger';
import { findTemporalCli } from '../src/temporal/cli-binary';
import { bootSystem, type TestSystem } from '../test/helpers/boot';

/** A dev server of our own and a full system on it, running the test workflows (noopJob, gatedJob). */
export async function startBench(): Promise<{ sys: TestSystem; stop: () => Promise<void> }> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig();
  const cli = await findTemporalCli({
    cliPath: config.temporal.cliPath,
    cacheDir: config.cacheDir,
    allowBuild: false,
    allowDownload: false,
    logger: createLogger('warn'),
  });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: cli }, searchAttributes: [...CUSTOM_SEARCH_ATTRIBUTES] },
  });
  const sys = await bootSystem({
    address: env.address,
    namespace: env.namespace ?? 'default',
    workflowsPath: require.resolve('../test/workflows'),
  });
  return {
    sys,
    stop: async () => {
      await sys.close();
      await env.teardown();
    },
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

export function line(label: string, value: string): void {
  process.stdout.write(`${label.padEnd(44)} ${value}\n`);
}
