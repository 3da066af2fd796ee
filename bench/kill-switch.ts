/**
 * Kill-switch propagation: with N jobs blocked in an activity, how long from the Update call
 * (and from its return) until each job has stopped (its run ended, skipped, and recorded).
 * Prints p50 and p99 over several rounds, for 25 and for 100 jobs (BENCH_JOBS=25,100; goal at
 * 100: both p99 <= 500 ms).
 */
import { line, percentile, startBench } from './lib';
import { startTestJob } from '../test/helpers/boot';

const JOB_COUNTS = (process.env.BENCH_JOBS ?? '25,100').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

async function main(): Promise<void> {
  const { sys, stop } = await startBench();
  try {
    for (const jobs of JOB_COUNTS) await measure(sys, jobs);
  } finally {
    await stop();
  }
}

async function measure(sys: Awaited<ReturnType<typeof startBench>>['sys'], JOBS: number): Promise<void> {
  const fromCall: number[] = [];
  const fromReturn: number[] = [];
  const updateLatency: number[] = [];
  // Round 0 warms the worker up (workflow contexts, connections) and is not counted.
  for (let round = 0; round <= ROUNDS; round++) {
    const arrivals = Array.from({ length: JOBS }, () => sys.acts.reachedGate());
    const ids = await Promise.all(
      Array.from({ length: JOBS }, (_, i) => startTestJob(sys, 'gatedJob', `bench-kill-${JOBS}-${round}-${i}`)),
    );
    await Promise.all(arrivals);
    const stoppedAt = ids.map((id) => sys.ops.jobResult(id).then((r) => ({ r, at: performance.now() })));
    const called = performance.now();
    await sys.ops.setKillSwitch(true, { actor: 'bench', reason: `round ${round}` });
    const returned = performance.now();
    const stopped = await Promise.all(stoppedAt);
    if (stopped.some((s) => s.r.outcome !== 'skipped')) throw new Error('a job was not stopped by the kill switch');
    await sys.ops.setKillSwitch(false, { actor: 'bench', reason: `round ${round} done` });
    if (round === 0) continue;
    updateLatency.push(returned - called);
    for (const s of stopped) {
      fromCall.push(s.at - called);
      fromReturn.push(Math.max(0, s.at - returned));
    }
  }
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  line(`${JOBS} jobs: blocked per round x rounds`, `${JOBS} x ${ROUNDS}`);
  line(`${JOBS} jobs: Update call -> return (p50 / p99)`, `${ms(percentile(updateLatency, 50))} / ${ms(percentile(updateLatency, 99))}`);
  line(`${JOBS} jobs: Update call -> job stopped (p50 / p99)`, `${ms(percentile(fromCall, 50))} / ${ms(percentile(fromCall, 99))}`);
  line(`${JOBS} jobs: Update returned -> job stopped (p50 / p99)`, `${ms(percentile(fromReturn, 50))} / ${ms(percentile(fromReturn, 99))}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
