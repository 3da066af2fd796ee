/**
 * A worker process armed with a named crash point (src/activities/crash-points.ts): it runs
 * test/helpers/worker-process.ts like spawnWorker, with OPS_CRASH_POINT* in its environment,
 * and tells how it ended. Shared by the crash-point tests and `npm run chaos`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config';
import type { CrashPoint } from '../../src/activities/crash-points';
import type { Store } from '../../src/store';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CrashWorker {
  readonly child: ChildProcess;
  /** Resolves when the process has ended, however. */
  readonly exited: Promise<Exit>;
  /** What the process wrote on stderr so far. */
  stderr(): string;
  kill(): Promise<Exit>;
  stop(): Promise<Exit>;
}

export interface CrashSettings {
  point?: CrashPoint | string;
  skip?: number;
  probability?: number;
}

const ROOT = join(__dirname, '..', '..');
const READY_TIMEOUT_MS = 90_000;

/**
 * The config a worker process needs to share `store` with the caller: on PostgreSQL, the
 * caller's schema goes into the URL (search_path), as the child has no other way to get it.
 */
export function workerConfig(config: Config, store: Store): Config {
  if (store.dialect !== 'postgres' || !store.schema || !config.databaseUrl) return config;
  const url = new URL(config.databaseUrl);
  url.searchParams.set('options', `-c search_path=${store.schema}`);
  return { ...config, databaseUrl: url.toString() };
}

/** Starts the worker; resolves once it polls, or rejects with its stderr if it exits first. */
export async function spawnCrashWorker(config: Config, name: string, crash: CrashSettings = {}): Promise<CrashWorker> {
  return awaitReady(startChild(config, name, crash), { label: `worker ${name}`, readyLine: 'worker ready', readyWord: 'ready' });
}

export interface ReadySignal {
  /** Names the process in errors, e.g. `worker a`. */
  label: string;
  /** The stdout text that says the process is up. */
  readyLine: string;
  /** What "up" is called in errors: `not <word> in 90 s`, `before it was <word>`. */
  readyWord: string;
}

/**
 * Watches a just-spawned child (stdout and stderr piped): resolves with its handle once stdout
 * shows `readyLine`, or rejects with its output if it exits first or takes 90 s. Shared with
 * `npm run chaos`, which runs `npm start` itself this way (scripts/chaos/npm-start.ts).
 */
export async function awaitReady(child: ChildProcess, { label, readyLine, readyWord }: ReadySignal): Promise<CrashWorker> {
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} not ${readyWord} in ${READY_TIMEOUT_MS / 1000} s:\n${stderr}`)), READY_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      // Only the start-up lines are kept; later logs are read and dropped.
      if (stdout.length < 100_000) stdout += chunk.toString();
      if (stdout.includes(readyLine)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${exit.code ?? exit.signal}) before it was ${readyWord}:\n${stderr}${stdout.slice(-2000)}`));
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

/** Runs a worker that is expected to refuse its start; resolves with its exit and stderr. */
export async function runRefusedWorker(config: Config, name: string, crash: CrashSettings): Promise<Exit & { stderr: string }> {
  const child = startChild(config, name, crash);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = await new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { ...exit, stderr };
}

function startChild(config: Config, name: string, crash: CrashSettings): ChildProcess {
  const configPath = join(config.dataDir, `worker-${name}.json`);
  writeFileSync(configPath, JSON.stringify({ ...config, logLevel: 'warn' }));
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'helpers', 'worker-process.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      OPS_CONFIG: configPath,
      TEMPORAL_ADDRESS: '',
      DATABASE_URL: '',
      OPS_CRASH_POINT: crash.point ?? '',
      OPS_CRASH_POINT_SKIP: crash.skip === undefined ? '' : String(crash.skip),
      OPS_CRASH_POINT_PROBABILITY: crash.probability === undefined ? '' : String(crash.probability),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
