/**
 * Finds the `temporal` CLI (which carries the dev server), in this order: TEMPORAL_CLI_PATH,
 * `temporal` on PATH, our cache outside the work tree (so every clone on the machine shares one),
 * a `go install` build into that cache, the official download into that cache.
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
const EXE = process.platform === 'win32' ? 'temporal.exe' : 'temporal';
const BUILD_TIMEOUT_MS = 30 * 60_000;
const DOWNLOAD_TIMEOUT_MS = 5 * 60_000;

type LogFn = (objOrMsg: object | string, msg?: string) => void;
/** What we need of a pino logger (tests pass plain objects). */
export interface ProvisionLogger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export interface FindCliOptions {
  /** TEMPORAL_CLI_PATH (config.temporal.cliPath). */
  cliPath?: string;
  cacheDir: string;
  allowBuild: boolean;
  allowDownload: boolean;
  logger: ProvisionLogger;
  /** The PATH to search; process.env.PATH when absent (tests give their own). */
  pathEnv?: string;
}

export class TemporalCliNotFound extends Error {
  override readonly name = 'TemporalCliNotFound';
}

export function cachedCliPath(cacheDir: string): string {
  return join(cacheDir, 'bin', EXE);
}

/** Whether `path` is a file this process may execute. */
export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function explainBadCliPath(path: string): string {
  let why: string;
  if (!existsSync(path)) why = 'does not exist';
  else if (statSync(path).isDirectory()) why = 'is a directory, not the temporal binary';
  else why = 'is not executable (chmod +x it)';
  return `TEMPORAL_CLI_PATH is set to ${path}, but that ${why}. Point it at a temporal binary, or unset it to let personal-ops find one.`;
}

function onPath(pathEnv: string): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, EXE);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export async function findTemporalCli(opts: FindCliOptions): Promise<string> {
  const { logger } = opts;
  if (opts.cliPath) {
    const path = resolve(opts.cliPath);
    // A set but broken TEMPORAL_CLI_PATH is a mistake to report, not a reason to quietly use another binary.
    if (!isExecutableFile(path)) throw new TemporalCliNotFound(explainBadCliPath(path));
    logger.info({ path, source: 'TEMPORAL_CLI_PATH' }, 'using the Temporal CLI from TEMPORAL_CLI_PATH');
    return path;
  }
  const fromPath = onPath(opts.pathEnv ?? process.env.PATH ?? '');
  if (fromPath) {
    logger.info({ path: fromPath, source: 'PATH' }, 'using the Temporal CLI found on PATH');
    return fromPath;
  }
  const cached = cachedCliPath(opts.cacheDir);
  if (isExecutableFile(cached)) {
    logger.info({ path: cached, source: 'cache' }, 'using the cached Temporal CLI');
    return cached;
  }

  const tried = ['TEMPORAL_CLI_PATH is not set', '`temporal` is not on PATH', `${cached} does not exist`];
  if (opts.allowBuild) {
    try {
      return await buildWithGo(opts.cacheDir, logger);
    } catch (err) {
      tried.push(`building with Go failed: ${(err as Error).message}`);
      logger.warn({ err: (err as Error).message }, 'could not build the Temporal CLI with Go');
    }
  } else {
    tried.push('building with Go was not allowed here');
  }
  if (opts.allowDownload) {
    try {
      return await download(opts.cacheDir, logger);
    } catch (err) {
      tried.push(`the download failed: ${(err as Error).message}`);
      logger.warn({ err: (err as Error).message }, 'could not download the Temporal CLI');
    }
  } else {
    tried.push('downloading was not allowed here');
  }
  throw new TemporalCliNotFound(
    [
      'The Temporal CLI (`temporal`, which runs the local dev server) was not found:',
      ...tried.map((line) => `  - ${line}`),
      'Fix it one of these ways:',
      '  - set TEMPORAL_CLI_PATH to a temporal binary;',
      '  - install temporal on PATH (https://docs.temporal.io/cli);',
      `  - install Go, then run \`npx tsx scripts/provision-temporal.ts\` (it runs go install ${CLI_MODULE}@${TEMPORAL_CLI_VERSION} into ${join(opts.cacheDir, 'bin')}, once per machine);`,
      '  - allow network access to temporal.download, then run `npx tsx scripts/provision-temporal.ts`;',
      '  - or point TEMPORAL_ADDRESS at a Temporal server that is already running.',
    ].join('\n'),
  );
}

async function commandExists(command: string): Promise<boolean> {
  return run(command, ['version']).then(
    () => true,
    () => false,
  );
}

/** Moves a checked binary into the cache in one rename, so a concurrent reader never sees half a file. */
async function install(staged: string, cacheDir: string): Promise<string> {
  await run(staged, ['--version'], { timeout: 30_000 }).catch((err: Error) => {
    throw new Error(`the new binary does not run: ${err.message.split('\n')[0]}`);
  });
  const target = cachedCliPath(cacheDir);
  await rename(staged, target);
  return target;
}

async function buildWithGo(cacheDir: string, logger: ProvisionLogger): Promise<string> {
  if (!(await commandExists('go'))) throw new Error('`go` is not on PATH');
  const bin = join(cacheDir, 'bin');
  await mkdir(bin, { recursive: true });
  const staging = await mkdtemp(join(bin, '.build-'));
  try {
    logger.info(
      { module: `${CLI_MODULE}@${TEMPORAL_CLI_VERSION}`, into: bin },
      'building the Temporal CLI with go install; this takes several minutes, once per machine',
    );
    const started = Date.now();
    // CGO off: the CLI's SQLite is pure Go, and a build then needs no C compiler.
    // cwd in the cache: a go.mod or go.work around the caller must not take part.
    await quietly('go', ['install', `${CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      cwd: staging,
      env: { ...process.env, GOBIN: staging, CGO_ENABLED: '0' },
      timeoutMs: BUILD_TIMEOUT_MS,
    });
    const path = await install(join(staging, EXE), cacheDir);
    logger.info({ path, seconds: Math.round((Date.now() - started) / 1000) }, 'Temporal CLI built');
    return path;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Runs a command with its output kept (not streamed); a failure carries the end of its stderr. */
export function quietly(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return done();
      const tail = stderr.trim().split('\n').slice(-5).join('\n');
      fail(new Error(`${command} ${args.join(' ')} ended with ${signal ?? `exit code ${code}`}${tail ? `:\n${tail}` : ''}`));
    });
  });
}

function downloadPlatform(): { platform: string; arch: string } {
  const platform = { linux: 'linux', darwin: 'darwin' }[process.platform as string];
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string];
  if (!platform || !arch) {
    throw new Error(`no official tar.gz build for ${process.platform}/${process.arch}; set TEMPORAL_CLI_PATH instead`);
  }
  return { platform, arch };
}

async function download(cacheDir: string, logger: ProvisionLogger): Promise<string> {
  const { platform, arch } = downloadPlatform();
  const url = `https://temporal.download/cli/archive/${TEMPORAL_CLI_VERSION}?platform=${platform}&arch=${arch}`;
  const bin = join(cacheDir, 'bin');
  await mkdir(bin, { recursive: true });
  const staging = await mkdtemp(join(bin, '.download-'));
  try {
    logger.info({ url, into: bin }, 'downloading the official Temporal CLI');
    const response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
    const archive = join(staging, 'temporal.tar.gz');
    await writeFile(archive, Buffer.from(await response.arrayBuffer()));
    await run('tar', ['-xzf', archive, '-C', staging]).catch((err: Error) => {
      throw new Error(`tar could not extract ${url}: ${err.message.split('\n')[0]}`);
    });
    const staged = join(staging, EXE);
    if (!existsSync(staged)) throw new Error(`the archive from ${url} holds no ${EXE}`);
    await chmod(staged, 0o755);
    const path = await install(staged, cacheDir);
    logger.info({ path }, 'Temporal CLI downloaded');
    return path;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
