/**
 * The production Temporal server and its schema tool (`temporal-server`, `temporal-sql-tool`),
 * built with `go install` once per machine into our cache outside the work tree, beside the CLI.
 * The version is the one the cached CLI embeds, so the dev server and production run one server.
 * Only provisioning builds (scripts/provision-temporal-server.ts); tests and scripts find.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isExecutableFile, quietly, type ProvisionLogger } from './cli-binary';

const run = promisify(execFile);

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const BUILD_TIMEOUT_MS = 30 * 60_000;

/** Each binary: its `go install` package, what `go install` names it, and its name in the cache. */
const BINARIES = {
  server: { pkg: 'go.temporal.io/server/cmd/server', built: 'server', cached: 'temporal-server' },
  sqlTool: { pkg: 'go.temporal.io/server/cmd/tools/sql', built: 'sql', cached: 'temporal-sql-tool' },
} as const;
type BinaryName = keyof typeof BINARIES;

export type TemporalServerBinaries = Record<BinaryName, string>;

export class TemporalServerNotFound extends Error {
  override readonly name = 'TemporalServerNotFound';
}

const exe = (name: string): string => (process.platform === 'win32' ? `${name}.exe` : name);

/** Versioned names, so an upgrade builds next to the old binaries instead of replacing them under a running server. */
export function cachedServerBinaries(cacheDir: string): TemporalServerBinaries {
  const version = TEMPORAL_SERVER_VERSION.replace(/^v/, '');
  const at = (name: BinaryName) => join(cacheDir, 'bin', exe(`${BINARIES[name].cached}-${version}`));
  return { server: at('server'), sqlTool: at('sqlTool') };
}

/** The cached binaries, or a message saying how to provision them. Never builds. */
export function findTemporalServer(cacheDir: string): TemporalServerBinaries {
  const paths = cachedServerBinaries(cacheDir);
  const missing = Object.values(paths).filter((path) => !isExecutableFile(path));
  if (missing.length > 0) {
    throw new TemporalServerNotFound(
      [
        `The Temporal server ${TEMPORAL_SERVER_VERSION} is not on this machine (missing: ${missing.join(', ')}).`,
        'Install Go, then run `npx tsx scripts/provision-temporal-server.ts` (once per machine; it runs',
        `go install ${BINARIES.server.pkg}@${TEMPORAL_SERVER_VERSION} and ${BINARIES.sqlTool.pkg}@${TEMPORAL_SERVER_VERSION}).`,
      ].join('\n'),
    );
  }
  return paths;
}

/** The cached binaries, building whichever is missing. */
export async function provisionTemporalServer(cacheDir: string, logger: ProvisionLogger): Promise<TemporalServerBinaries> {
  const paths = cachedServerBinaries(cacheDir);
  for (const name of Object.keys(BINARIES) as BinaryName[]) {
    if (isExecutableFile(paths[name])) {
      logger.info({ path: paths[name] }, `using the cached ${BINARIES[name].cached}`);
      continue;
    }
    await buildWithGo(name, paths[name], logger);
  }
  return paths;
}

async function buildWithGo(name: BinaryName, target: string, logger: ProvisionLogger): Promise<void> {
  const { pkg, built } = BINARIES[name];
  const goAnswers = await run('go', ['version']).then(
    () => true,
    () => false,
  );
  if (!goAnswers) throw new TemporalServerNotFound(`building ${pkg}@${TEMPORAL_SERVER_VERSION} needs Go, and \`go\` is not on PATH`);
  const bin = join(target, '..');
  await mkdir(bin, { recursive: true });
  const staging = await mkdtemp(join(bin, '.build-server-'));
  try {
    logger.info({ module: `${pkg}@${TEMPORAL_SERVER_VERSION}`, into: target }, 'building with go install; several minutes, once per machine');
    const started = Date.now();
    // CGO off: a static binary that needs no C compiler. cwd in the staging dir: a go.mod or
    // go.work around the caller must not take part.
    await quietly('go', ['install', `${pkg}@${TEMPORAL_SERVER_VERSION}`], {
      cwd: staging,
      env: { ...process.env, GOBIN: staging, CGO_ENABLED: '0' },
      timeoutMs: BUILD_TIMEOUT_MS,
    });
    const staged = join(staging, exe(built));
    await run(staged, ['--version'], { timeout: 30_000 }).catch((err: Error) => {
      throw new Error(`the new ${built} binary does not run: ${err.message.split('\n')[0]}`);
    });
    // One rename: a concurrent reader never sees half a file.
    await rename(staged, target);
    logger.info({ path: target, seconds: Math.round((Date.now() - started) / 1000) }, `${BINARIES[name].cached} built`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

