/** Spawns test/helpers/worker-process.ts with a given config, and tells when it polls. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config';

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Peak resident set size so far (Linux VmHWM), in MiB. */
  peakRssMb(): number;
  /** SIGKILL: the process dies with whatever it had in flight, as in a crash. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');

export async function spawnWorker(config: Config, name: string): Promise<WorkerProcess> {
  const configPath = join(config.dataDir, `worker-${name}.json`);
  writeFileSync(configPath, JSON.stringify({ ...config, logLevel: 'warn' }));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'helpers', 'worker-process.ts')], {
    cwd: ROOT,
    env: { ...process.env, OPS_CONFIG: configPath, TEMPORAL_ADDRESS: '', DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${name} not ready in 60 s:\n${stderr}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('worker ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${name} exited (${code}) before it was ready:\n${stderr}`));
    });
  });
  return {
    child,
    peakRssMb: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
      return kb / 1024;
    },
    crash: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
