/**
 * Kill-switch propagation: with N jobs blocked in an activity, how long from the Update call
 * (and from its return) until each job has stopped. Prints p50 and p99 over several rounds.
 */
import { line, percentile, startBench } from './lib';
import { startTestJob } from '../test/helpers/boot';

const JOBS = Number(process.env.BENCH_JOBS ?? 25);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

async function main(): Promise<void> {
  const { sys, stop } = await startBench();
  const fromCall: number[] = [];
  const fromReturn: number[] = [];
  const updateLatency: number[] = [];
  try {
    // Round 0 warms the worker up (workflow contexts, connections) and is not counted.
    for (let round = 0; round <= ROUNDS; round++) {
      const arrivals = Array.from({ length: JOBS }, () => sys.acts.reachedGate());
      const ids = await Promise.all(
        Array.from({ length: JOBS }, (_, i) => startTestJob(sys, 'gatedJob', `bench-kill-${round}-${i}`)),
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
  } finally {
    await stop();
  }
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  line('jobs blocked per round x rounds', `${JOBS} x ${ROUNDS}`);
  line('Update call -> return (p50 / p99)', `${ms(percentile(updateLatency, 50))} / ${ms(percentile(updateLatency, 99))}`);
  line('Update call -> job stopped (p50 / p99)', `${ms(percentile(fromCall, 50))} / ${ms(percentile(fromCall, 99))}`);
  line('Update returned -> job stopped (p50 / p99)', `${ms(percentile(fromReturn, 50))} / ${ms(percentile(fromReturn, 99))}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
