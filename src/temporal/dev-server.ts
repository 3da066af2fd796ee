/**
 * Temporal for `npm start`: the server at TEMPORAL_ADDRESS if one answers, else a
 * `temporal server start-dev` of our own on that port, its state in a file in the data dir.
 *
 * Our dev server survives our death cleanly instead of dying half-way: it has no pipes to us (its
 * output goes to a log file in the data dir, so no SIGPIPE kills it once we are gone), and its pid
 * is recorded there, so the next `npm start` that finds it answering knows it for ours, adopts it,
 * and stops it at shutdown as if it had started it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Config } from '../config';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../definitions';
import { findTemporalCli, type ProvisionLogger } from './cli-binary';
import { temporalConnectionOptions, type TemporalConnectionOptions } from './connection';

/**
 * Where the Temporal at TEMPORAL_ADDRESS came from: `started` by this call; `adopted`, a dev server
 * an earlier personal-ops started on this data dir and left running when it died (now ours to
 * supervise and stop); `external`, anything else that answered (another running personal-ops'
 * dev server included), which is not ours to stop.
 */
export type TemporalOrigin = 'started' | 'adopted' | 'external';

export interface TemporalHandle {
  address: string;
  origin: TemporalOrigin;
  /** Set for a dev server of ours (an external server's UI is not ours to know). */
  uiUrl?: string;
  /** True when the dev server is ours (started or adopted): stop() ends it. */
  startedDevServer: boolean;
  /** The dev server's process id, when it is ours. */
  pid?: number;
  /** Stops the dev server if it is ours (SIGTERM, SIGKILL after 10 s); a no-op for an external server. */
  stop(): Promise<void>;
}

export interface EnsureTemporalOptions {
  /** How long the dev server may take to answer. Default 60 s. */
  startTimeoutMs?: number;
  /** Passed to findTemporalCli. Default true: `npm start` on a fresh machine provisions the CLI. */
  allowBuild?: boolean;
  allowDownload?: boolean;
  /** Called when our dev server (started or adopted) dies without stop(), after it is logged as an error. */
  onUnexpectedExit?: (info: { code: number | null; signal: NodeJS.Signals | null }) => void;
}

const STOP_GRACE_MS = 10_000;
const GRPC_NOT_FOUND = 5;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '0.0.0.0', '::1']);

type Probe = 'down' | 'up' | 'no-namespace';

/**
 * Whether a Temporal frontend answers and knows `namespace`. Over the configured TLS (and API key)
 * when there is one: a TLS frontend never answers a plaintext probe.
 */
async function probe(target: TemporalConnectionOptions, namespace: string, timeoutMs: number): Promise<Probe> {
  const { address } = target;
  const { host, port } = splitAddress(address);
  // Where nothing listens, say so at once: gRPC would keep reconnecting until its deadline.
  if (LOCAL_HOSTS.has(host) && !(await listening(host, port))) return 'down';
  let connection: Connection | undefined;
  try {
    // connect() itself calls GetSystemInfo, so a port held by something else counts as down.
    connection = await Connection.connect({ ...target, connectTimeout: timeoutMs });
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

/**
 * True when a Temporal frontend answers within `timeoutMs`: at an address (plaintext), or with the
 * connection options of the config (temporalConnectionOptions: TLS, API key).
 */
export async function temporalAnswers(target: string | TemporalConnectionOptions, timeoutMs = 2000): Promise<boolean> {
  const options = typeof target === 'string' ? { address: target } : target;
  const { host, port } = splitAddress(options.address);
  if (LOCAL_HOSTS.has(host) && !(await listening(host, port))) return false;
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: timeoutMs });
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

/** Whether the host of `address` is this machine (where we may start a dev server). */
export function isLocalAddress(address: string): boolean {
  return LOCAL_HOSTS.has(splitAddress(address).host);
}

/** Whether something listens on a local host:port; "localhost" may be either loopback. */
export async function listening(host: string, port: number): Promise<boolean> {
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
    // resolve to ::1 only while clients try 127.0.0.1. Only TEMPORAL_ADDRESS=0.0.0.0:<port>, written
    // on purpose, exposes the frontend (it has no authentication).
    '--ip',
    host === 'localhost' ? '127.0.0.1' : host,
    '--port',
    String(port),
    // The Web UI would follow --ip; it has no authentication and can start, signal and terminate
    // workflows, so it stays on loopback whatever the frontend binds (reach it with ssh -L).
    '--ui-ip',
    '127.0.0.1',
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

/** The dev server's output (stdout and stderr), in the data dir. */
export function devServerLogPath(config: Config): string {
  return resolve(config.dataDir, 'temporal-dev-server.log');
}

/** Which dev server a personal-ops started on this data dir, and which personal-ops runs it. */
export function devServerRecordPath(config: Config): string {
  return resolve(config.dataDir, 'temporal-dev-server.json');
}

function devServerDbPath(config: Config): string {
  return resolve(config.dataDir, 'temporal.sqlite');
}

interface DevServerRecord {
  pid: number;
  /** The personal-ops process that supervises it. */
  ownerPid: number;
  address: string;
  uiPort: number;
  db: string;
}

/** Past this size the log is moved to `.1` when a dev server starts, so it stays bounded. */
const LOG_ROTATE_BYTES = 10 * 1024 * 1024;
const RECORD_MAX_BYTES = 4096;

function writeRecord(config: Config, record: DevServerRecord): void {
  writeFileSync(devServerRecordPath(config), `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

function removeRecord(config: Config, pid: number | undefined): void {
  // Only our own record: another process may have recorded a newer server since.
  if (readRecord(config)?.pid === pid) rmSync(devServerRecordPath(config), { force: true });
}

/** The record, or undefined when it is missing, too large or not ours in shape (never trusted further). */
function readRecord(config: Config): DevServerRecord | undefined {
  const path = devServerRecordPath(config);
  try {
    if (!existsSync(path) || statSync(path).size > RECORD_MAX_BYTES) return undefined;
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<DevServerRecord> | null;
    const pid = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) > 1;
    if (!raw || !pid(raw.pid) || !pid(raw.ownerPid) || typeof raw.address !== 'string' || typeof raw.db !== 'string') return undefined;
    return { pid: raw.pid, ownerPid: raw.ownerPid, address: raw.address, uiPort: Number(raw.uiPort), db: raw.db };
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a process, or undefined when it is gone (Linux /proc, else ps). */
function commandLine(pid: number): string | undefined {
  try {
    if (existsSync('/proc/self/cmdline')) return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', timeout: 2000 });
  } catch {
    return undefined;
  }
}

/**
 * The dev server recorded in the data dir, if it is still that process (a recycled pid is not:
 * its command line must be a dev server on our database file) and serves this address.
 */
function recordedDevServer(config: Config): DevServerRecord | undefined {
  const record = readRecord(config);
  if (!record || record.address !== config.temporal.address || record.db !== devServerDbPath(config)) return undefined;
  const cmd = commandLine(record.pid);
  return cmd?.includes('start-dev') && cmd.includes(record.db) ? record : undefined;
}

export async function ensureTemporal(
  config: Config,
  logger: ProvisionLogger,
  opts: EnsureTemporalOptions = {},
): Promise<TemporalHandle> {
  const { address, namespace, uiPort } = config.temporal;
  // Read (and checked) once: a TLS file that cannot be read is a ConfigError here, before any probe.
  const target = temporalConnectionOptions(config);
  const found = await probe(target, namespace, 2000);
  if (found === 'up') {
    const recorded = recordedDevServer(config);
    if (recorded && !processAlive(recorded.ownerPid)) return adopt(config, recorded, logger, opts);
    if (recorded) {
      logger.info(
        { address, namespace, pid: recorded.pid, ownerPid: recorded.ownerPid },
        `using the Temporal dev server that another running personal-ops (pid ${recorded.ownerPid}) started; it stops it`,
      );
    } else {
      logger.info({ address, namespace }, 'using the Temporal server that answers at TEMPORAL_ADDRESS');
    }
    return { address, origin: 'external', startedDevServer: false, stop: async () => undefined };
  }
  if (found === 'no-namespace') {
    throw new Error(
      `The Temporal server at ${address} has no namespace "${namespace}". Create it with ` +
        `\`temporal operator namespace create --namespace ${namespace} --address ${address}\`, or set TEMPORAL_NAMESPACE.`,
    );
  }

  const { host, port } = splitAddress(address);
  if (target.tls) {
    throw new Error(
      `No Temporal server answers at ${address} over TLS (temporal.tls / TEMPORAL_API_KEY are set). The dev server ` +
        'personal-ops starts speaks plaintext only, so it will not start one: start that server, or unset the TLS settings.',
    );
  }
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
  const logPath = devServerLogPath(config);
  logger.info({ cli, address, db: devServerDbPath(config), log: logPath }, 'no Temporal server answers: starting a dev server');
  const server = spawnServer(cli, args, logPath, logger, (info) => {
    removeRecord(config, server.pid);
    opts.onUnexpectedExit?.(info);
  });
  if (server.pid !== undefined) {
    writeRecord(config, { pid: server.pid, ownerPid: process.pid, address, uiPort, db: devServerDbPath(config) });
  }

  const stopAndForget = async (): Promise<void> => {
    await server.stop();
    removeRecord(config, server.pid);
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (server.ended()) {
      await stopAndForget();
      throw new Error(`The Temporal dev server exited while starting on ${address}.\n${server.tail()}`);
    }
    if ((await probe(target, namespace, 1000)) === 'up') break;
    if (Date.now() > deadline) {
      await stopAndForget();
      throw new Error(
        `The Temporal dev server did not answer on ${address} within ${Math.round((opts.startTimeoutMs ?? 60_000) / 1000)} s.\n${server.tail()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  server.started();
  const uiUrl = `http://localhost:${uiPort}`;
  logger.info({ address, namespace, uiUrl, pid: server.pid }, `Temporal dev server running; Web UI at ${uiUrl}`);
  return { address, origin: 'started', uiUrl, startedDevServer: true, pid: server.pid, stop: stopAndForget };
}

const ADOPTED_WATCH_MS = 1000;

/** Takes over the dev server an earlier personal-ops left running: ours to watch and to stop. */
function adopt(config: Config, record: DevServerRecord, logger: ProvisionLogger, opts: EnsureTemporalOptions): TemporalHandle {
  const { address, namespace, uiPort } = config.temporal;
  const { pid } = record;
  writeRecord(config, { ...record, ownerPid: process.pid });
  const uiUrl = `http://localhost:${uiPort}`;
  logger.info(
    { address, namespace, pid, previousOwnerPid: record.ownerPid, uiUrl, log: devServerLogPath(config) },
    `adopting the Temporal dev server (pid ${pid}) that an earlier personal-ops started and left running; Web UI at ${uiUrl}`,
  );
  let stopping = false;
  // Not our child, so no exit event: its pid is watched instead.
  const watch = setInterval(() => {
    if (stopping || processAlive(pid)) return;
    clearInterval(watch);
    removeRecord(config, pid);
    logger.error(
      { pid, log: devServerLogPath(config) },
      'THE TEMPORAL DEV SERVER DIED: workflows, schedules and the Web UI are down until it runs again',
    );
    opts.onUnexpectedExit?.({ code: null, signal: null });
  }, ADOPTED_WATCH_MS);
  watch.unref();
  const onParentExit = (): void => {
    if (processAlive(pid)) process.kill(pid, 'SIGTERM');
  };
  process.once('exit', onParentExit);

  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      clearInterval(watch);
      process.removeListener('exit', onParentExit);
      if (processAlive(pid)) {
        process.kill(pid, 'SIGTERM');
        process.kill(pid, 'SIGCONT'); // a stopped server acts on SIGTERM only once continued
        const deadline = Date.now() + STOP_GRACE_MS;
        while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        if (processAlive(pid)) {
          logger.warn({ pid }, `the Temporal dev server ignored SIGTERM for ${STOP_GRACE_MS / 1000} s; killing it`);
          process.kill(pid, 'SIGKILL');
          while (processAlive(pid)) await new Promise((r) => setTimeout(r, 100));
        }
      }
      removeRecord(config, pid);
      logger.info({ pid }, 'Temporal dev server stopped');
    })();
    return stopPromise;
  };
  return { address, origin: 'adopted', uiUrl, startedDevServer: true, pid, stop };
}

interface DevServer {
  pid: number | undefined;
  ended(): boolean;
  /** The end of what the server wrote to its log since this start, for error messages. */
  tail(): string;
  /** Marks start-up done: from now on an exit we did not ask for is reported. */
  started(): void;
  stop(): Promise<void>;
}

const TAIL_BYTES = 8000;

/** The last lines `path` got after byte `from`. */
function readTail(path: string, from: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - TAIL_BYTES);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString('utf8').trim().split('\n').slice(-20).join('\n');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function spawnServer(
  cli: string,
  args: string[],
  logPath: string,
  logger: ProvisionLogger,
  onUnexpectedExit: EnsureTemporalOptions['onUnexpectedExit'],
): DevServer {
  if (existsSync(logPath) && statSync(logPath).size > LOG_ROTATE_BYTES) renameSync(logPath, `${logPath}.1`);
  const out = openSync(logPath, 'a', 0o600);
  const from = fstatSync(out).size;
  // Its own process group: Ctrl-C in the terminal reaches only us, and we stop the server after
  // the worker, instead of the server dying first under a worker still shutting down. A file, not a
  // pipe, for its output: a pipe breaks when we die, and the server then dies of SIGPIPE at its next
  // log line, minutes later, under whichever personal-ops adopted it meanwhile.
  const child = spawn(cli, args, { stdio: ['ignore', out, out], detached: true });
  closeSync(out);
  let spawnError = '';
  const tail = (): string => {
    const lines = [readTail(logPath, from), spawnError].filter(Boolean).join('\n');
    return lines ? `Its last output (${logPath}):\n${lines}` : `It printed nothing (${logPath}).`;
  };

  let running = false;
  let stopping = false;
  let spawnFailed = false;
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  child.once('error', (err) => {
    spawnFailed = true;
    spawnError = err.message;
  });
  const ended = (): boolean => spawnFailed || child.exitCode !== null || child.signalCode !== null;
  child.once('exit', (code, signal) => {
    if (!running || stopping) return;
    logger.error(
      { code, signal, pid: child.pid, output: tail() },
      'THE TEMPORAL DEV SERVER DIED: workflows, schedules and the Web UI are down until it runs again',
    );
    onUnexpectedExit?.({ code, signal });
  });

  // If this process ends without stop() (an uncaught error, process.exit), the server must not
  // outlive it holding the port and the database file. (After a SIGKILL nothing runs here: the
  // server then lives on cleanly, and the next personal-ops adopts it.)
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
        child.kill('SIGCONT'); // a stopped server (SIGSTOP, a debugger) acts on SIGTERM only once continued
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
