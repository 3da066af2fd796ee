/**
 * Kill-switch propagation: with N jobs blocked in an activity, how long from the Update call
 * (and from its return) until each job has stopped (its run ended, skipped, and recorded).
 * Beside it, in turns, the same with bare Temporal: N workflows blocked in an activity, and one
 * workflow that signals them all to cancel it, timed from the call that starts that workflow.
 * Prints p50 and p99 over several rounds, for 25 and for 100 jobs (BENCH_JOBS=25,100; goal at
 * 100: both p99 <= 500 ms), and the ratio to bare Temporal.
 */
import { line, percentile, startBareWorker, startBench } from './lib';
import { startGatedJobs } from '../test/helpers/boot';

const JOB_COUNTS = (process.env.BENCH_JOBS ?? '25,100').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

type Sys = Awaited<ReturnType<typeof startBench>>['sys'];

interface Stops {
  fromCall: number[];
  fromReturn: number[];
  updateLatency: number[];
}

async function main(): Promise<void> {
  const { sys, stop } = await startBench();
  let blocked: (() => void)[] = [];
  const bare = await startBareWorker(sys, () => blocked.shift()?.());
  const arrivals = (n: number) => Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => blocked.push(resolve))));
  try {
    for (const jobs of JOB_COUNTS) {
      const ours: Stops = { fromCall: [], fromReturn: [], updateLatency: [] };
      const baseline: number[] = [];
      // Round 0 warms both up (workflow contexts, connections) and is not counted.
      for (let round = 0; round <= ROUNDS; round++) {
        const counted = round > 0;
        await killRound(sys, jobs, round, counted ? ours : undefined);
        const bareStops = await bareRound(sys, bare.taskQueue, jobs, round, () => {
          blocked = [];
          return arrivals(jobs);
        });
        if (counted) baseline.push(...bareStops);
      }
      report(jobs, ours, baseline);
    }
  } finally {
    await bare.stop();
    await stop();
  }
}

async function killRound(sys: Sys, jobs: number, round: number, into: Stops | undefined): Promise<void> {
  const ids = await startGatedJobs(sys, Array.from({ length: jobs }, (_, i) => `bench-kill-${jobs}-${round}-${i}`));
  const stoppedAt = ids.map((id) => sys.ops.jobResult(id).then((r) => ({ r, at: performance.now() })));
  const called = performance.now();
  await sys.ops.setKillSwitch(true, { actor: 'bench', reason: `round ${round}` });
  const returned = performance.now();
  const stopped = await Promise.all(stoppedAt);
  if (stopped.some((s) => s.r.outcome !== 'skipped')) throw new Error('a job was not stopped by the kill switch');
  await sys.ops.setKillSwitch(false, { actor: 'bench', reason: `round ${round} done` });
  if (!into) return;
  into.updateLatency.push(returned - called);
  for (const s of stopped) {
    into.fromCall.push(s.at - called);
    into.fromReturn.push(Math.max(0, s.at - returned));
  }
}

/** The baseline: from the call that starts the fan-out workflow until each blocked workflow has ended. */
async function bareRound(sys: Sys, taskQueue: string, jobs: number, round: number, expectBlocked: () => Promise<unknown>): Promise<number[]> {
  const arrived = expectBlocked();
  const ids = Array.from({ length: jobs }, (_, i) => `bench-bare-kill-${jobs}-${round}-${i}`);
  const handles = await Promise.all(ids.map((workflowId) => sys.client.workflow.start('bareBlockedWorkflow', { workflowId, taskQueue })));
  await arrived;
  const stoppedAt = handles.map((h) => h.result().then((r: unknown) => ({ r, at: performance.now() })));
  const called = performance.now();
  await sys.client.workflow.start('bareFanOutWorkflow', { workflowId: `bench-bare-fan-out-${jobs}-${round}`, taskQueue, args: [ids] });
  const stopped = await Promise.all(stoppedAt);
  if (stopped.some((s) => s.r !== 'stopped')) throw new Error('a bare workflow was not stopped by its signal');
  return stopped.map((s) => s.at - called);
}

function report(jobs: number, ours: Stops, baseline: number[]): void {
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const p = (values: number[]) => `${ms(percentile(values, 50))} / ${ms(percentile(values, 99))}`;
  line(`${jobs} jobs: blocked per round x rounds`, `${jobs} x ${ROUNDS}`);
  line(`${jobs} jobs: Update call -> return (p50 / p99)`, p(ours.updateLatency));
  line(`${jobs} jobs: Update call -> job stopped (p50 / p99)`, p(ours.fromCall));
  line(`${jobs} jobs: Update returned -> job stopped (p50 / p99)`, p(ours.fromReturn));
  line(`${jobs} bare: fan-out call -> stopped (p50 / p99)`, p(baseline));
  line(`${jobs} jobs: call -> stopped p99, job / bare`, `${(percentile(ours.fromCall, 99) / percentile(baseline, 99)).toFixed(2)}x`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
