/**
 * `npm start` itself (src/start.ts, as `tsx src/start.ts` runs it, in one process so that a
 * SIGKILL takes all of it), pointed at the chaos run's Temporal server, which it adopts and so
 * never owns: killing it does not kill Temporal. Resolves once it logs that it is running.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config';
import type { CrashWorker, Exit } from '../../test/helpers/crash-worker';
import { track } from './children';

const ROOT = join(__dirname, '..', '..');
const READY_TIMEOUT_MS = 90_000;

export async function spawnNpmStart(config: Config, name: string): Promise<CrashWorker> {
  const configPath = join(config.dataDir, `npm-start-${name}.json`);
  writeFileSync(configPath, JSON.stringify({ ...config, logLevel: 'info' }));
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'start.ts')], {
      cwd: ROOT,
      env: { ...process.env, OPS_CONFIG: configPath, TEMPORAL_ADDRESS: '', DATABASE_URL: '', OPS_CRASH_POINT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start ${name} not running in ${READY_TIMEOUT_MS / 1000} s:\n${stderr}`)), READY_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      // Only the start-up lines are kept; the worker's later logs are read and dropped.
      if (stdout.length < 100_000) stdout += chunk.toString();
      if (stdout.includes('personal-ops is running')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`npm start ${name} exited (${exit.code ?? exit.signal}) before it was running:\n${stderr}${stdout.slice(-2000)}`));
    });
  });
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    exited,
    stderr: () => stderr,
    kill: async () => {
      if (!ended()) child.kill('SIGKILL');
      return exited;
    },
    stop: async () => {
      if (!ended()) child.kill('SIGTERM');
      return exited;
    },
  };
}
