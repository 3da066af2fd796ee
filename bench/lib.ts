import { Runtime, DefaultLogger } from '@temporalio/worker';
import { bootSystem, startLocalTemporal, type TestSystem } from '../test/helpers/boot';

/** A dev server of our own and a full system on it, running the test workflows (noopJob, gatedJob). */
export async function startBench(): Promise<{ sys: TestSystem; stop: () => Promise<void> }> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { env } = await startLocalTemporal();
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
