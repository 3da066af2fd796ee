/**
 * The job wrapper's cost against bare Temporal, measured in one run on one dev server: a no-op job
 * through the whole wrapper (register with ops-controls, pre-checks, audit row, search attributes,
 * memo) beside a bare workflow that calls one no-op activity, with the same runs and concurrency,
 * the two taking turns (see compare). Prints latency one at a time, throughput and CPU per run at
 * a concurrency round by round, and the ratios (goal: wrapper
 * throughput >= 0.77 of bare, sequential p50 <= 1.3x bare).
 */
import { cpuPerRun, cpuSnapshot, line, percentile, startBareWorker, startBench } from './lib';
import { startTestJob } from '../test/helpers/boot';

const RUNS = Number(process.env.BENCH_RUNS ?? 150);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 50);

type RunOne = (id: string) => Promise<void>;

interface Round {
  perSecond: number;
  cpu: { selfMs: number; serverMs: number };
}

async function timed(runOne: RunOne, id: string): Promise<number> {
  const started = performance.now();
  await runOne(id);
  return performance.now() - started;
}

/** RUNS runs, CONCURRENCY at a time. */
async function round(prefix: string, runOne: RunOne): Promise<Round> {
  let next = 0;
  const cpuFrom = cpuSnapshot();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < RUNS) await runOne(`${prefix}-${next++}`);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: RUNS / seconds, cpu: cpuPerRun(cpuFrom, RUNS) };
}

/**
 * The two kinds of run take turns, one run at a time and then round by round, so both meet the
 * same machine: on a shared 2-core host the speed drifts by a third within a minute, and two
 * phases measured one after the other would compare the drift as much as the code.
 */
async function compare(bare: RunOne, job: RunOne): Promise<{ latency: [number[], number[]]; rounds: [Round, Round][] }> {
  for (let i = 0; i < 10; i++) {
    await timed(bare, `bare-warmup-${i}`);
    await timed(job, `job-warmup-${i}`);
  }
  const latency: [number[], number[]] = [[], []];
  for (let i = 0; i < SEQUENTIAL; i++) {
    latency[0].push(await timed(bare, `bare-seq-${i}`));
    latency[1].push(await timed(job, `job-seq-${i}`));
  }
  const rounds: [Round, Round][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Which goes first alternates, so neither always follows the other's backlog.
    const first = r % 2 === 0;
    const a = first ? await round(`bare-par-${r}`, bare) : undefined;
    const j = await round(`job-par-${r}`, job);
    const b = a ?? (await round(`bare-par-${r}`, bare));
    rounds.push([b, j]);
  }
  return { latency, rounds };
}

const median = (values: number[]): number => percentile(values, 50);

async function main(): Promise<void> {
  const { sys, stop } = await startBench();
  const bareWorker = await startBareWorker(sys);
  const bareQueue = bareWorker.taskQueue;
  try {
    const { latency, rounds } = await compare(
      async (id) => {
        await sys.client.workflow.execute('bareNoopWorkflow', { workflowId: id, taskQueue: bareQueue });
      },
      async (id) => {
        const result = await sys.ops.jobResult(await startTestJob(sys, 'noopJob', id));
        if (result.outcome !== 'succeeded') throw new Error(`${id}: ${result.outcome}`);
      },
    );
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    const [bareLatency, jobLatency] = latency;
    line('one at a time, p50 / p99: bare Temporal', `${ms(percentile(bareLatency, 50))} / ${ms(percentile(bareLatency, 99))}`);
    line('one at a time, p50 / p99: no-op job', `${ms(percentile(jobLatency, 50))} / ${ms(percentile(jobLatency, 99))}`);
    line('one at a time, p50 ratio (goal <= 1.3x)', `${(percentile(jobLatency, 50) / percentile(bareLatency, 50)).toFixed(2)}x`);
    const perSecond = (side: 0 | 1) => rounds.map((r) => r[side].perSecond);
    const cpu = (side: 0 | 1) =>
      `${median(rounds.map((r) => r[side].cpu.serverMs)).toFixed(1)} ms server, ${median(rounds.map((r) => r[side].cpu.selfMs)).toFixed(1)} ms client+worker`;
    const rates = (side: 0 | 1) => perSecond(side).map((v) => v.toFixed(1)).join(', ');
    line(`${CONCURRENCY} concurrent, ${ROUNDS} rounds of ${RUNS}: bare Temporal`, `median ${median(perSecond(0)).toFixed(1)} runs/s (${rates(0)})`);
    line(`${CONCURRENCY} concurrent, ${ROUNDS} rounds of ${RUNS}: no-op job`, `median ${median(perSecond(1)).toFixed(1)} runs/s (${rates(1)})`);
    line(`${CONCURRENCY} concurrent: CPU per run, bare Temporal`, cpu(0));
    line(`${CONCURRENCY} concurrent: CPU per run, no-op job`, cpu(1));
    const ratios = rounds.map(([b, j]) => j.perSecond / b.perSecond);
    line('throughput ratio job / bare, per round', ratios.map((v) => v.toFixed(2)).join(', '));
    line('throughput ratio, median (goal >= 0.77)', median(ratios).toFixed(2));
  } finally {
    await bareWorker.stop();
    await stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
