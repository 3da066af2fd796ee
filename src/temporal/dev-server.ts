/**
 * Temporal for `npm start`: the server at TEMPORAL_ADDRESS if one answers, else a
 * `temporal server start-dev` of our own on that port, its state in a file in the data dir.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Config } from '../config';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../definitions';
import { findTemporalCli, type ProvisionLogger } from './cli-binary';

export interface TemporalHandle {
  address: string;
  /** Set when we started the dev server (an external server's UI is not ours to know). */
  uiUrl?: string;
  startedDevServer: boolean;
  /** The dev server's process id, when we started one. */
  pid?: number;
  /** Stops the dev server we started (SIGTERM, SIGKILL after 10 s); a no-op for an external server. */
  stop(): Promise<void>;
}

export interface EnsureTemporalOptions {
  /** How long the dev server may take to answer. Default 60 s. */
  startTimeoutMs?: number;
  /** Passed to findTemporalCli. Default true: `npm start` on a fresh machine provisions the CLI. */
  allowBuild?: boolean;
  allowDownload?: boolean;
  /** Called when our dev server dies without stop() (after it is logged as an error). */
  onUnexpectedExit?: (info: { code: number | null; signal: NodeJS.Signals | null }) => void;
}

const STOP_GRACE_MS = 10_000;
const GRPC_NOT_FOUND = 5;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '0.0.0.0', '::1']);

type Probe = 'down' | 'up' | 'no-namespace';

/** Whether a Temporal frontend answers at `address` and knows `namespace`. */
async function probe(address: string, namespace: string, timeoutMs: number): Promise<Probe> {
  const { host, port } = splitAddress(address);
  // Where nothing listens, say so at once: gRPC would keep reconnecting until its deadline.
  if (LOCAL_HOSTS.has(host) && !(await listening(host, port))) return 'down';
  let connection: Connection | undefined;
  try {
    // connect() itself calls GetSystemInfo, so a port held by something else counts as down.
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
  } catch {
    return 'down';
  }
  try {
    await connection.withDeadline(Date.now() + timeoutMs, () =>
      connection!.workflowService.describeNamespace({ namespace }),
    );
    return 'up';
  } catch (err) {
    return isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND ? 'no-namespace' : 'down';
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** True when a Temporal frontend answers at `address` within `timeoutMs`. */
export async function temporalAnswers(address: string, timeoutMs = 2000): Promise<boolean> {
  const { host, port } = splitAddress(address);
  if (LOCAL_HOSTS.has(host) && !(await listening(host, port))) return false;
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: 1000 });
    const finish = (open: boolean) => {
      socket.destroy();
      done(open);
    };
    socket.once('connect', () => finish(true));
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
  });
}

/** Whether something listens on a local host:port; "localhost" may be either loopback. */
async function listening(host: string, port: number): Promise<boolean> {
  const hosts = host === 'localhost' ? ['127.0.0.1', '::1'] : host === '0.0.0.0' ? ['127.0.0.1'] : [host];
  const open = await Promise.all(hosts.map((h) => tcpOpen(h, port)));
  return open.includes(true);
}

export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

/** `--search-attribute Name=Type` for each of our custom search attributes. */
export function searchAttributeArgs(): string[] {
  return CUSTOM_SEARCH_ATTRIBUTES.flatMap((key) => [
    '--search-attribute',
    `${key.name}=${TypedSearchAttributes.toMetadataType(key.type)}`,
  ]);
}

/**
 * One partition per task queue. The server splits a queue's rate limit across its partitions,
 * each a token bucket with its own burst, so with several the API limits of the source queues
 * would hold only on average. One machine's jobs need no more than one partition.
 */
export const DEV_SERVER_DYNAMIC_CONFIG = ['matching.numTaskqueueReadPartitions=1', 'matching.numTaskqueueWritePartitions=1'];

export function dynamicConfigArgs(): string[] {
  return DEV_SERVER_DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]);
}

export function devServerArgs(config: Config): string[] {
  const { host, port } = splitAddress(config.temporal.address);
  return [
    'server',
    'start-dev',
    // Our own dev server listens on IPv4 loopback even when asked for "localhost", which Go might
    // resolve to ::1 only while clients try 127.0.0.1.
    '--ip',
    host === 'localhost' ? '127.0.0.1' : host,
    '--port',
    String(port),
    '--ui-port',
    String(config.temporal.uiPort),
    '--namespace',
    config.temporal.namespace,
    '--db-filename',
    resolve(config.dataDir, 'temporal.sqlite'),
    ...searchAttributeArgs(),
    ...dynamicConfigArgs(),
    '--log-level',
    'warn',
  ];
}

export async function ensureTemporal(
  config: Config,
  logger: ProvisionLogger,
  opts: EnsureTemporalOptions = {},
): Promise<TemporalHandle> {
  const { address, namespace, uiPort } = config.temporal;
  const found = await probe(address, namespace, 2000);
  if (found === 'up') {
    logger.info({ address, namespace }, 'using the Temporal server that answers at TEMPORAL_ADDRESS');
    return { address, startedDevServer: false, stop: async () => undefined };
  }
  if (found === 'no-namespace') {
    throw new Error(
      `The Temporal server at ${address} has no namespace "${namespace}". Create it with ` +
        `\`temporal operator namespace create --namespace ${namespace} --address ${address}\`, or set TEMPORAL_NAMESPACE.`,
    );
  }

  const { host, port } = splitAddress(address);
  if (!LOCAL_HOSTS.has(host)) {
    throw new Error(
      `No Temporal server answers at ${address}. That is not a local address, so personal-ops will not start a ` +
        'dev server in its place: start that server, or unset TEMPORAL_ADDRESS to run a local dev server.',
    );
  }
  if (await listening(host, port)) {
    throw new Error(
      `Port ${port} is in use, but no Temporal server answered there: free the port (or, if a Temporal server is ` +
        'still starting there, try again), or set TEMPORAL_ADDRESS.',
    );
  }
  if (await listening(host, uiPort)) {
    throw new Error(`The Web UI port ${uiPort} is in use; free it or set TEMPORAL_UI_PORT.`);
  }

  const cli = await findTemporalCli({
    cliPath: config.temporal.cliPath,
    cacheDir: config.cacheDir,
    allowBuild: opts.allowBuild ?? true,
    allowDownload: opts.allowDownload ?? true,
    logger,
  });
  mkdirSync(config.dataDir, { recursive: true });
  const args = devServerArgs(config);
  logger.info({ cli, address, db: resolve(config.dataDir, 'temporal.sqlite') }, 'no Temporal server answers: starting a dev server');
  const server = spawnServer(cli, args, logger, opts.onUnexpectedExit);

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (server.ended()) {
      await server.stop();
      throw new Error(`The Temporal dev server exited while starting on ${address}.\n${server.tail()}`);
    }
    if ((await probe(address, namespace, 1000)) === 'up') break;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(
        `The Temporal dev server did not answer on ${address} within ${Math.round((opts.startTimeoutMs ?? 60_000) / 1000)} s.\n${server.tail()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  server.started();
  const uiUrl = `http://localhost:${uiPort}`;
  logger.info({ address, namespace, uiUrl }, `Temporal dev server running; Web UI at ${uiUrl}`);
  return { address, uiUrl, startedDevServer: true, pid: server.pid, stop: server.stop };
}

interface DevServer {
  pid: number | undefined;
  ended(): boolean;
  /** The end of the server's output, stderr first, for error messages. */
  tail(): string;
  /** Marks start-up done: from now on an exit we did not ask for is reported. */
  started(): void;
  stop(): Promise<void>;
}

function spawnServer(
  cli: string,
  args: string[],
  logger: ProvisionLogger,
  onUnexpectedExit: EnsureTemporalOptions['onUnexpectedExit'],
): DevServer {
  // Its own process group: Ctrl-C in the terminal reaches only us, and we stop the server after
  // the worker, instead of the server dying first under a worker still shutting down.
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  // Both pipes are always drained: a full pipe would block the server.
  child.stdout!.on('data', (chunk: Buffer) => (stdout = (stdout + chunk.toString()).slice(-4000)));
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  const tail = (): string => {
    const lines = (stderr.trim() || stdout.trim()).split('\n').slice(-20).join('\n');
    return lines ? `Its last output (${stderr.trim() ? 'stderr' : 'stdout'}):\n${lines}` : 'It printed nothing.';
  };

  let running = false;
  let stopping = false;
  let spawnFailed = false;
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  child.once('error', (err) => {
    spawnFailed = true;
    stderr += `\n${err.message}`;
  });
  const ended = (): boolean => spawnFailed || child.exitCode !== null || child.signalCode !== null;
  child.once('exit', (code, signal) => {
    if (!running || stopping) return;
    logger.error(
      { code, signal, pid: child.pid, output: tail() },
      'THE TEMPORAL DEV SERVER DIED: workflows, schedules and the Web UI are down until personal-ops restarts',
    );
    onUnexpectedExit?.({ code, signal });
  });

  // If this process ends without stop() (a crash, process.exit), the server must not outlive it
  // holding the port and the database file.
  const onParentExit = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', onParentExit);

  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      process.removeListener('exit', onParentExit);
      if (!ended()) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => {
          logger.warn({ pid: child.pid }, `the Temporal dev server ignored SIGTERM for ${STOP_GRACE_MS / 1000} s; killing it`);
          child.kill('SIGKILL');
        }, STOP_GRACE_MS);
        await exited;
        clearTimeout(killer);
      }
      logger.info({ pid: child.pid }, 'Temporal dev server stopped');
    })();
    return stopPromise;
  };
  return { pid: child.pid, ended, tail, started: () => (running = true), stop };
}
