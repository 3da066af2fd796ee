/**
 * The production worker's start and idle memory, as Docker runs it (the Dockerfile's CMD, with
 * the prebuilt bundle, npm run build first), beside a bare Temporal worker process on the same
 * bundle and server: time from spawn to polling (/readyz 200 for ours, the baseline's "polling"
 * line), then the resident memory after IDLE_SECONDS idle. Goals: start <= 3 s, idle RSS <= 200 MB.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { startLocalTemporal } from '../test/helpers/boot';
import { freePort } from '../test/helpers/ports';
import { line } from './lib';

/** The worker's command as the Dockerfile runs it: ["node", ...flags, script]. Ours runs exactly that, and the baseline gets the same flags. */
function dockerCmd(): { nodeFlags: string[]; script: string } {
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))?.[1];
  const args = cmd ? (JSON.parse(cmd) as string[]) : [];
  if (args[0] !== 'node' || args.length < 2) throw new Error(`the Dockerfile's CMD is not ["node", ..., script]: ${cmd ?? 'none'}`);
  return { nodeFlags: args.slice(1, -1), script: args.at(-1)! };
}

const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const root = join(__dirname, '..');

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'ignore' });
  const bundle = join(root, 'dist', 'workflow-bundle.js');
  const { nodeFlags, script } = dockerCmd();
  const { env } = await startLocalTemporal();
  const namespace = env.namespace ?? 'default';
  const results = { ours: { start: [] as number[], rss: [] as number[] }, bare: { start: [] as number[], rss: [] as number[] } };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Ours: as the Dockerfile runs it, with its own store and an HTTP port for /readyz.
      const port = await freePort();
      const dataDir = mkdtempSync(join(tmpdir(), 'ops-bench-start-'));
      const started = performance.now();
      const ours = spawn('node', [...nodeFlags, join(root, script)], {
        cwd: root,
        stdio: 'ignore',
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: env.address,
          TEMPORAL_NAMESPACE: namespace,
          TEMPORAL_TASK_QUEUE: `bench-start-${round}`,
          OPS_WORKFLOW_BUNDLE: bundle,
          OPS_DATA_DIR: dataDir,
          OPS_HTTP_ADDRESS: `127.0.0.1:${port}`,
          LOG_LEVEL: 'warn',
        },
      });
      try {
        await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 'our worker ready');
        results.ours.start.push(performance.now() - started);
        await sleep(IDLE_SECONDS * 1000);
        results.ours.rss.push(rssMb(ours.pid!));
      } finally {
        await stop(ours);
      }

      // Bare: the same bundle, one no-op activity.
      const bareStarted = performance.now();
      let polling = false;
      const bare = spawn('node', [...nodeFlags, join(root, 'dist', 'scripts', 'bare-worker.js'), env.address, namespace, `bench-bare-${round}`, bundle], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      bare.stdout!.on('data', (chunk: Buffer) => (polling ||= chunk.toString().includes('polling')));
      try {
        await until(() => polling, 'the bare worker polling');
        results.bare.start.push(performance.now() - bareStarted);
        await sleep(IDLE_SECONDS * 1000);
        results.bare.rss.push(rssMb(bare.pid!));
      } finally {
        await stop(bare);
      }
    }
  } finally {
    await env.teardown();
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  line('node flags (the Dockerfile CMD\'s, both processes)', nodeFlags.join(' ') || '(none)');
  line(`start to polling, median of ${ROUNDS}: ours (goal <= 3 s)`, s(median(results.ours.start)));
  line('start to polling: bare worker', `${s(median(results.bare.start))} -> ratio ${(median(results.ours.start) / median(results.bare.start)).toFixed(2)}x`);
  line(`idle RSS after ${IDLE_SECONDS} s: ours (goal <= 200 MB)`, `${median(results.ours.rss).toFixed(0)} MB`);
  line('idle RSS: bare worker', `${median(results.bare.rss).toFixed(0)} MB -> ratio ${(median(results.ours.rss) / median(results.bare.rss)).toFixed(2)}x`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
