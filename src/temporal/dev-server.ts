/**
 * Temporal for `npm start`: the server at TEMPORAL_ADDRESS if one answers, else a
 * `temporal server start-dev` of our own on that port, state kept in the data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import type { Config } from '../config';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../definitions';
import { findTemporalCli, type CliLogger } from './cli-binary';

export interface TemporalHandle {
  address: string;
  uiUrl?: string;
  startedDevServer: boolean;
  stop(): Promise<void>;
}

type Logger = CliLogger & { error(obj: object, msg: string): void };

/** True when a Temporal frontend answers at `address` within `timeoutMs`. */
export async function temporalAnswers(address: string, timeoutMs = 2000): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

export function devServerArgs(config: Config, host: string, port: string): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    host === 'localhost' ? '127.0.0.1' : host,
    '--port',
    port,
    '--ui-port',
    String(config.temporal.uiPort),
    '--namespace',
    config.temporal.namespace,
    '--db-filename',
    resolve(config.dataDir, 'temporal.sqlite'),
    '--log-level',
    'warn',
    ...CUSTOM_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
  ];
}

export async function ensureTemporal(
  config: Config,
  logger: Logger,
  opts: { startTimeoutMs?: number; allowBuild?: boolean; allowDownload?: boolean } = {},
): Promise<TemporalHandle> {
  const address = config.temporal.address;
  if (await temporalAnswers(address)) {
    logger.info({ address }, 'using the Temporal server at TEMPORAL_ADDRESS');
    return { address, startedDevServer: false, stop: async () => undefined };
  }
  const [host = 'localhost', port = '7233'] = address.split(':');
  const cli = await findTemporalCli({
    cliPath: config.temporal.cliPath,
    cacheDir: config.cacheDir,
    allowBuild: opts.allowBuild ?? true,
    allowDownload: opts.allowDownload ?? true,
    logger,
  });
  mkdirSync(config.dataDir, { recursive: true });
  logger.info({ cli, address }, 'no Temporal server answers at TEMPORAL_ADDRESS: starting a dev server');
  const child = spawn(cli, devServerArgs(config, host, port), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let stopping = false;
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  child.once('exit', (code, signal) => {
    if (!stopping) logger.error({ code, signal, output: output.slice(-1000) }, 'the Temporal dev server exited unexpectedly');
  });

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  while (!(await temporalAnswers(address, 1000))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The Temporal dev server did not start on ${address}. Its last output:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const uiUrl = `http://localhost:${config.temporal.uiPort}`;
  logger.info({ address, uiUrl }, `Temporal dev server running; Web UI at ${uiUrl}`);
  return {
    address,
    uiUrl,
    startedDevServer: true,
    stop: () => stopChild(child, exited, () => (stopping = true)),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>, mark: () => void): Promise<void> {
  mark();
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
