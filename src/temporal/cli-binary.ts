/**
 * Finds the `temporal` CLI (which carries the dev server): TEMPORAL_CLI_PATH, PATH, our cache
 * outside the work tree, a `go install` build into that cache, the official download.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export interface CliLogger {
  info(msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface FindCliOptions {
  cliPath?: string;
  cacheDir: string;
  allowBuild: boolean;
  allowDownload: boolean;
  logger: CliLogger;
  /** PATH to search (tests). */
  pathEnv?: string;
}

export class TemporalCliNotFound extends Error {
  override readonly name = 'TemporalCliNotFound';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function cachedCliPath(cacheDir: string): string {
  return join(cacheDir, 'bin', 'temporal');
}

function onPath(pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'temporal');
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export async function findTemporalCli(opts: FindCliOptions): Promise<string> {
  const { logger } = opts;
  if (opts.cliPath) {
    if (isExecutable(opts.cliPath)) return opts.cliPath;
    throw new TemporalCliNotFound(`TEMPORAL_CLI_PATH is set to ${opts.cliPath}, which is not an executable file`);
  }
  const fromPath = onPath(opts.pathEnv ?? process.env.PATH);
  if (fromPath) return fromPath;
  const cached = cachedCliPath(opts.cacheDir);
  if (isExecutable(cached)) return cached;

  const attempts: string[] = [];
  if (opts.allowBuild) {
    const built = await buildWithGo(opts.cacheDir, logger).catch((err: Error) => {
      attempts.push(`go install failed: ${err.message.split('\n')[0]}`);
      return undefined;
    });
    if (built) return built;
  }
  if (opts.allowDownload) {
    const downloaded = await download(opts.cacheDir, logger).catch((err: Error) => {
      attempts.push(`download failed: ${err.message.split('\n')[0]}`);
      return undefined;
    });
    if (downloaded) return downloaded;
  }
  throw new TemporalCliNotFound(
    [
      'The Temporal CLI (`temporal`, which runs the dev server) was not found.',
      ...attempts.map((a) => `  (${a})`),
      'Fix it one of these ways:',
      '  - set TEMPORAL_CLI_PATH to a temporal binary;',
      '  - put `temporal` on PATH (https://docs.temporal.io/cli);',
      `  - install Go and run: GOBIN=${join(opts.cacheDir, 'bin')} go install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`,
      '    (or `npx tsx scripts/provision-temporal.ts`, which does that for you);',
      '  - allow network access to temporal.download for the official build;',
      '  - or point TEMPORAL_ADDRESS at a Temporal server that is already running.',
    ].join('\n'),
  );
}

async function buildWithGo(cacheDir: string, logger: CliLogger): Promise<string | undefined> {
  const hasGo = await run('go', ['version']).then(
    () => true,
    () => false,
  );
  if (!hasGo) throw new Error('go is not installed');
  const bin = join(cacheDir, 'bin');
  mkdirSync(bin, { recursive: true });
  logger.info(
    { gobin: bin },
    `building the Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (several minutes, once per machine)`,
  );
  await run('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
    env: { ...process.env, GOBIN: bin },
    maxBuffer: 64 * 1024 * 1024,
  });
  const path = cachedCliPath(cacheDir);
  if (!isExecutable(path)) throw new Error(`go install finished but ${path} is missing`);
  logger.info({ path }, 'Temporal CLI built');
  return path;
}

async function download(cacheDir: string, logger: CliLogger): Promise<string | undefined> {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const url = `https://temporal.download/cli/archive/${TEMPORAL_CLI_VERSION}?platform=${process.platform}&arch=${arch}`;
  const bin = join(cacheDir, 'bin');
  mkdirSync(bin, { recursive: true });
  logger.info({ url }, 'downloading the Temporal CLI');
  const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const archive = join(bin, 'temporal.tar.gz');
  const { writeFile, rm } = await import('node:fs/promises');
  await writeFile(archive, Buffer.from(await response.arrayBuffer()));
  await run('tar', ['-xzf', archive, '-C', bin, 'temporal']);
  await rm(archive, { force: true });
  const path = cachedCliPath(cacheDir);
  if (!existsSync(path)) throw new Error('the archive held no temporal binary');
  return path;
}
