/**
 * `npm start` keeps Temporal up: real `npm start` processes (src/start.ts under tsx), real dev
 * servers from the real CLI, killed for real.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { OpsClient } from '../../src/client';
import { configSchema, sqlitePath, type Config } from '../../src/config';
import { openStore } from '../../src/store';
import {
  devServerLogPath,
  devServerRecordPath,
  ensureTemporal,
  processAlive,
  temporalAnswers,
} from '../../src/temporal/dev-server';
import { superviseTemporal, type TemporalSupervisor } from '../../src/temporal/supervisor';
import { freePort } from '../helpers/ports';

const ROOT = resolve(__dirname, '..', '..');
const noProvisioning = { allowBuild: false, allowDownload: false };

function spyLogger() {
  return { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
}

/** Every process a test started, killed whatever happens (dev servers live in their own group). */
const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGCONT');
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

async function localConfig(cliPath: string = inject('temporalCliPath')): Promise<Config> {
  return configSchema.parse({
    dataDir: mkdtempSync(join(tmpdir(), 'ops-supervise-')),
    temporal: { address: `127.0.0.1:${await freePort()}`, uiPort: await freePort(), cliPath },
  });
}

function recordedPid(config: Config): number | undefined {
  const path = devServerRecordPath(config);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { pid: number }).pid : undefined;
}

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

interface NpmStart {
  child: ChildProcess;
  lines: LogLine[];
  exited: Promise<number | null>;
  waitForLog(pattern: RegExp, timeoutMs: number): Promise<LogLine>;
}

/** `npm start` as a user runs it, in its own process group, its JSON log lines collected. */
function npmStart(config: Config, env: Record<string, string> = {}): NpmStart {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/start.ts'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      OPS_CONFIG: '',
      OPS_DATA_DIR: config.dataDir,
      TEMPORAL_ADDRESS: config.temporal.address,
      TEMPORAL_UI_PORT: String(config.temporal.uiPort),
      TEMPORAL_CLI_PATH: config.temporal.cliPath!,
      TEMPORAL_NAMESPACE: 'default',
      OPS_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  leftovers.push(child.pid!);
  const lines: LogLine[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop()!;
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        lines.push({ level: 0, msg: part });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const waitForLog = async (pattern: RegExp, timeoutMs: number): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = lines.find((l) => pattern.test(l.msg));
      if (hit) return hit;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `npm start ${child.exitCode !== null ? `exited (${child.exitCode})` : 'timed out'} before logging ${pattern}.\n` +
            `stdout:\n${lines.map((l) => l.msg).join('\n')}\nstderr:\n${stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, lines, exited, waitForLog };
}

/** A job run end to end through npm start's worker: proof that it is back to work. */
async function runAJob(config: Config): Promise<string> {
  const store = await openStore({ sqlitePath: sqlitePath(config) });
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const ops = new OpsClient(new Client({ connection, namespace: 'default' }), store, config);
    const run = await Promise.race([
      ops.runJob('health_monitor'),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the job did not finish within 30 s')), 30_000)),
    ]);
    return run.outcome;
  } finally {
    await connection.close();
    await store.close();
  }
}

/** A dev server that npm start did not start (as another program would run it). */
function externalDevServer(config: Config): ChildProcess {
  const { address } = config.temporal;
  const port = address.slice(address.lastIndexOf(':') + 1);
  const child = spawn(
    config.temporal.cliPath!,
    ['server', 'start-dev', '--ip', '127.0.0.1', '--port', port, '--headless', '--log-level', 'error'],
    { stdio: 'ignore', detached: true },
  );
  leftovers.push(child.pid!);
  return child;
}

async function answersSoon(address: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await temporalAnswers(address))) {
    if (Date.now() > deadline) throw new Error(`nothing answered on ${address} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('npm start supervises the Temporal dev server it started', () => {
  it('a kill -9 of the dev server: npm start starts it again, a job runs, and Ctrl-C still stops both cleanly', async () => {
    const config = await localConfig();
    const app = npmStart(config);
    const running = await app.waitForLog(/personal-ops is running/, 90_000);
    expect(running).toMatchObject({ temporalOrigin: 'started' });
    const firstPid = recordedPid(config)!;
    expect(running.devServerPid).toBe(firstPid);

    process.kill(firstPid, 'SIGKILL');
    const restarted = await app.waitForLog(/starting a Temporal dev server on .* again/, 15_000);
    expect(restarted.msg).toMatch(/was killed by SIGKILL/);
    expect(restarted.level).toBeGreaterThanOrEqual(50); // error: the operator sees it
    await app.waitForLog(/Temporal answers again/, 30_000);
    const secondPid = recordedPid(config)!;
    expect(secondPid).not.toBe(firstPid);
    expect(processAlive(secondPid)).toBe(true);

    expect(await runAJob(config)).toEqual(expect.any(String));

    process.kill(app.child.pid!, 'SIGTERM');
    expect(await app.exited).toBe(0);
    expect(processAlive(secondPid)).toBe(false);
    expect(existsSync(devServerRecordPath(config))).toBe(false);
  }, 150_000);

  it('survives a kill -9 of the whole npm start while it keeps logging, and the next start adopts it', async () => {
    // The real CLI, made to log continuously: a pipe to a dead parent would kill it (SIGPIPE) at
    // its next line, within a second or two.
    const wrapper = join(mkdtempSync(join(tmpdir(), 'ops-chatty-cli-')), 'temporal');
    writeFileSync(wrapper, `#!/bin/sh\nexec '${inject('temporalCliPath')}' "$@" --log-level debug\n`);
    chmodSync(wrapper, 0o755);
    const config = await localConfig(wrapper);
    const app = npmStart(config);
    await app.waitForLog(/personal-ops is running/, 90_000);
    const devPid = recordedPid(config)!;
    leftovers.push(devPid);

    process.kill(-app.child.pid!, 'SIGKILL');
    await app.exited;
    const logSizeAtDeath = statSync(devServerLogPath(config)).size;
    await new Promise((r) => setTimeout(r, 10_000));
    expect(processAlive(devPid)).toBe(true);
    expect(statSync(devServerLogPath(config)).size).toBeGreaterThan(logSizeAtDeath); // it kept writing
    expect(await temporalAnswers(config.temporal.address)).toBe(true);

    const logger = spyLogger();
    const adopted = await ensureTemporal(config, logger, noProvisioning);
    try {
      expect(adopted).toMatchObject({ origin: 'adopted', pid: devPid, startedDevServer: true });
      expect(logger.info).toHaveBeenCalledWith(expect.anything(), expect.stringMatching(/adopting the Temporal dev server \(pid \d+\)/));
    } finally {
      await adopted.stop();
    }
    expect(processAlive(devPid)).toBe(false);
    expect(existsSync(devServerRecordPath(config))).toBe(false);
  }, 150_000);

  it('one that is alive but does not answer (SIGSTOP) is stopped and started again', async () => {
    const config = await localConfig();
    const logger = spyLogger();
    const supervisor = await superviseTemporal(config, logger, { ...noProvisioning, lostAfterMs: 1500, probeEveryMs: 300 });
    try {
      const hung = supervisor.current().pid!;
      leftovers.push(hung);
      process.kill(hung, 'SIGSTOP');
      await vi.waitFor(() => expect(supervisor.current().pid).not.toBe(hung), { timeout: 40_000, interval: 200 });
      expect(processAlive(hung)).toBe(false);
      expect(await temporalAnswers(config.temporal.address)).toBe(true);
      expect(logger.error).toHaveBeenCalledWith(
        expect.anything(),
        expect.stringMatching(/\(pid \d+\) is running but has not answered for \d+ s: starting a Temporal dev server on .* again/),
      );
    } finally {
      await supervisor.stop();
    }
  }, 60_000);

  it('gives up after too many restarts in the window', async () => {
    const config = await localConfig();
    const logger = spyLogger();
    const supervisor = await superviseTemporal(config, logger, { ...noProvisioning, maxRestarts: 1, lostAfterMs: 60_000 });
    try {
      const first = supervisor.current().pid!;
      process.kill(first, 'SIGKILL');
      await vi.waitFor(() => expect(supervisor.restarts()).toBe(1), { timeout: 5000 });
      await vi.waitFor(() => expect(supervisor.current().pid).not.toBe(first), { timeout: 30_000 });
      await answersSoon(config.temporal.address);

      process.kill(supervisor.current().pid!, 'SIGKILL');
      const why = await supervisor.lost;
      expect(why).toMatch(/was killed by SIGKILL, and Temporal was already restarted 1 times in the last 10 min/);
    } finally {
      await supervisor.stop();
    }
  }, 90_000);
});

describe('npm start supervises a Temporal it adopted', () => {
  let supervisor: TemporalSupervisor | undefined;
  afterEach(async () => {
    await supervisor?.stop();
    supervisor = undefined;
  });

  it('one that stops answering with its port free is replaced by a dev server of ours', async () => {
    const config = await localConfig();
    const external = externalDevServer(config);
    await answersSoon(config.temporal.address);
    const logger = spyLogger();
    supervisor = await superviseTemporal(config, logger, { ...noProvisioning, lostAfterMs: 1500, probeEveryMs: 300 });
    expect(supervisor.current().origin).toBe('external');

    process.kill(external.pid!, 'SIGKILL');
    await vi.waitFor(() => expect(supervisor!.current().origin).toBe('started'), { timeout: 40_000, interval: 200 });
    expect(await temporalAnswers(config.temporal.address)).toBe(true);
    expect(logger.error).toHaveBeenCalledWith(
      expect.anything(),
      expect.stringMatching(/which this personal-ops did not start, has not answered for \d+ s and its port is free: starting/),
    );
  }, 60_000);

  it('one that holds its port but does not answer: npm start exits 75 with a clear message', async () => {
    const config = await localConfig();
    const external = externalDevServer(config);
    await answersSoon(config.temporal.address);
    const app = npmStart(config, { TEMPORAL_LOST_AFTER_MS: '2000' });
    const running = await app.waitForLog(/personal-ops is running/, 90_000);
    expect(running).toMatchObject({ temporalOrigin: 'external' });

    process.kill(external.pid!, 'SIGSTOP'); // alive, port held, no answer
    const code = await Promise.race([app.exited, new Promise((r) => setTimeout(() => r('still running'), 45_000))]);
    expect(code).toBe(75);
    expect(app.lines.map((l) => l.msg).join('\n')).toMatch(
      /personal-ops is stopping: The Temporal server at 127\.0\.0\.1:\d+, which this personal-ops did not start, has not answered for \d+ s, and port \d+ is still held/,
    );
  }, 150_000);
});
