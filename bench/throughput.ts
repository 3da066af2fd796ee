/**
 * The job wrapper's cost against bare Temporal, measured in one run on one dev server: a no-op job
 * through the whole wrapper (register with ops-controls, pre-checks, audit row, search attributes,
 * memo) beside a bare workflow that calls one no-op activity, with the same runs and concurrency.
 * Prints throughput at a concurrency, latency one at a time, and the ratios (goal: wrapper
 * throughput >= 0.77 of bare, sequential p50 <= 1.3x bare).
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { line, percentile, startBench } from './lib';
import { startTestJob } from '../test/helpers/boot';

const RUNS = Number(process.env.BENCH_RUNS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 50);

interface Figures {
  p50: number;
  p99: number;
  perSecond: number;
  seconds: number;
}

/** Warm-up, then SEQUENTIAL runs one at a time, then RUNS at CONCURRENCY. */
async function measure(prefix: string, runOne: (id: string) => Promise<void>): Promise<Figures> {
  const timed = async (id: string): Promise<number> => {
    const started = performance.now();
    await runOne(id);
    return performance.now() - started;
  };
  for (let i = 0; i < 10; i++) await timed(`${prefix}-warmup-${i}`);
  const latencies: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) latencies.push(await timed(`${prefix}-seq-${i}`));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < RUNS) await timed(`${prefix}-par-${next++}`);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), perSecond: RUNS / seconds, seconds };
}

async function main(): Promise<void> {
  const { sys, stop } = await startBench();
  const native = await NativeConnection.connect({ address: sys.config.temporal.address });
  const bareQueue = `${sys.config.temporal.taskQueue}-bare`;
  const bareWorker = await Worker.create({
    connection: native,
    namespace: sys.config.temporal.namespace,
    taskQueue: bareQueue,
    workflowsPath: require.resolve('./bare-workflow'),
    activities: { bareNoopActivity: async () => undefined },
  });
  const bareRunning = bareWorker.run();
  try {
    const bare = await measure('bare', async (id) => {
      await sys.client.workflow.execute('bareNoopWorkflow', { workflowId: id, taskQueue: bareQueue });
    });
    const wrapper = await measure('job', async (id) => {
      const result = await sys.ops.jobResult(await startTestJob(sys, 'noopJob', id));
      if (result.outcome !== 'succeeded') throw new Error(`${id}: ${result.outcome}`);
    });
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    line('one at a time, p50 / p99: bare Temporal', `${ms(bare.p50)} / ${ms(bare.p99)}`);
    line('one at a time, p50 / p99: no-op job', `${ms(wrapper.p50)} / ${ms(wrapper.p99)}`);
    line('one at a time, p50 ratio (goal <= 1.3x)', `${(wrapper.p50 / bare.p50).toFixed(2)}x`);
    line(`${CONCURRENCY} concurrent: bare Temporal`, `${bare.perSecond.toFixed(1)} runs/s (${RUNS} runs in ${bare.seconds.toFixed(1)} s)`);
    line(`${CONCURRENCY} concurrent: no-op job`, `${wrapper.perSecond.toFixed(1)} runs/s (${RUNS} runs in ${wrapper.seconds.toFixed(1)} s)`);
    line('throughput ratio job / bare (goal >= 0.77)', `${(wrapper.perSecond / bare.perSecond).toFixed(2)}`);
  } finally {
    bareWorker.shutdown();
    await bareRunning;
    await native.close();
    await stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
