/**
 * A no-op job through the whole wrapper (register with ops-controls, pre-checks, audit row,
 * search attributes, memo): throughput at a given concurrency, and latency one at a time.
 */
import { line, percentile, startBench } from './lib';
import { startTestJob } from '../test/helpers/boot';

const RUNS = Number(process.env.BENCH_RUNS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 50);

async function main(): Promise<void> {
  const { sys, stop } = await startBench();
  const runOne = async (id: string): Promise<number> => {
    const started = performance.now();
    const result = await sys.ops.jobResult(await startTestJob(sys, 'noopJob', id));
    if (result.outcome !== 'succeeded') throw new Error(`${id}: ${result.outcome}`);
    return performance.now() - started;
  };
  try {
    for (let i = 0; i < 10; i++) await runOne(`warmup-${i}`);
    const latencies: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) latencies.push(await runOne(`seq-${i}`));

    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < RUNS) await runOne(`par-${next++}`);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    line('no-op job, one at a time: p50 / p99 latency', `${percentile(latencies, 50).toFixed(1)} ms / ${percentile(latencies, 99).toFixed(1)} ms`);
    line(`no-op job, ${CONCURRENCY} concurrent: throughput`, `${(RUNS / seconds).toFixed(1)} runs/s (${RUNS} runs in ${seconds.toFixed(1)} s)`);
  } finally {
    await stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
