import { readdirSync, readFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { BareActivities } from './bare-workflow';
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

/** CPU seconds so far of this process and of its child processes (the dev server), read from /proc. */
export interface CpuSnapshot {
  self: number;
  children: number;
}

const CLOCK_TICKS_PER_SECOND = 100;

function childCpuSeconds(): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command's closing parenthesis: state ppid ... utime(12) stime(13).
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended while being read.
    }
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

export function cpuSnapshot(): CpuSnapshot {
  const own = process.cpuUsage();
  return { self: (own.user + own.system) / 1e6, children: childCpuSeconds() };
}

/** CPU milliseconds per run spent by this process (client and worker) and by the dev server since `from`. */
export function cpuPerRun(from: CpuSnapshot, runs: number): { selfMs: number; serverMs: number } {
  const to = cpuSnapshot();
  return { selfMs: ((to.self - from.self) * 1000) / runs, serverMs: ((to.children - from.children) * 1000) / runs };
}

/** A worker of bare Temporal beside the system, on its own task queue: the baselines' workflows (bare-workflow.ts). */
export async function startBareWorker(
  sys: TestSystem,
  onBlocked: () => void = () => undefined,
): Promise<{ taskQueue: string; stop: () => Promise<void> }> {
  const native = await NativeConnection.connect({ address: sys.config.temporal.address });
  const taskQueue = `${sys.config.temporal.taskQueue}-bare`;
  const activities: BareActivities = {
    bareNoopActivity: async () => undefined,
    bareBlockActivity: async () => {
      const ctx = Context.current();
      onBlocked();
      for (;;) {
        ctx.heartbeat();
        await ctx.sleep(200);
      }
    },
  };
  const worker = await Worker.create({
    connection: native,
    namespace: sys.config.temporal.namespace,
    taskQueue,
    workflowsPath: require.resolve('./bare-workflow'),
    activities,
  });
  const running = worker.run();
  return {
    taskQueue,
    stop: async () => {
      worker.shutdown();
      await running;
      await native.close();
    },
  };
}
