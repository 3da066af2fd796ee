import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cachedCliPath, findTemporalCli, TemporalCliNotFound, type FindCliOptions } from '../../src/temporal/cli-binary';

// Never a real build or download here: `go` is a script of ours and fetch is stubbed where they are allowed.

function recordingLogger() {
  const lines: string[] = [];
  const log = (objOrMsg: object | string, msg?: string) => {
    lines.push(typeof objOrMsg === 'string' ? objOrMsg : `${msg ?? ''} ${JSON.stringify(objOrMsg)}`);
  };
  return { lines, logger: { info: log, warn: log, error: log } };
}

function fakeCli(dir: string, executable = true): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'temporal');
  writeFileSync(path, '#!/bin/sh\necho fake temporal\n');
  chmodSync(path, executable ? 0o755 : 0o644);
  return path;
}

const scratch = () => mkdtempSync(join(tmpdir(), 'ops-cli-'));

function options(over: Partial<FindCliOptions> = {}): FindCliOptions {
  return {
    cacheDir: join(scratch(), 'cache'),
    allowBuild: false,
    allowDownload: false,
    logger: recordingLogger().logger,
    pathEnv: '',
    ...over,
  };
}

describe('finding the temporal CLI', () => {
  it('TEMPORAL_CLI_PATH wins over PATH and the cache, and says so', async () => {
    const explicit = fakeCli(join(scratch(), 'explicit'));
    const pathDir = join(scratch(), 'path');
    fakeCli(pathDir);
    const cacheDir = join(scratch(), 'cache');
    fakeCli(join(cacheDir, 'bin'));
    const { lines, logger } = recordingLogger();
    expect(await findTemporalCli(options({ cliPath: explicit, pathEnv: pathDir, cacheDir, logger }))).toBe(explicit);
    expect(lines.join('\n')).toMatch(/TEMPORAL_CLI_PATH/);
  });

  it.each([
    ['a missing file', () => join(scratch(), 'nope', 'temporal'), /but that does not exist/],
    ['a directory', () => scratch(), /but that is a directory/],
    ['a file that is not executable', () => fakeCli(scratch(), false), /but that is not executable/],
  ])('a TEMPORAL_CLI_PATH naming %s is a clear error, not a fallback to PATH', async (_what, make, why) => {
    const cliPath = make();
    const pathDir = join(scratch(), 'path');
    fakeCli(pathDir);
    const err = await findTemporalCli(options({ cliPath, pathEnv: pathDir })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemporalCliNotFound);
    expect((err as Error).message).toContain(`TEMPORAL_CLI_PATH is set to ${cliPath}`);
    expect((err as Error).message).toMatch(why);
  });

  it('then `temporal` on PATH (the first directory that has one), before the cache', async () => {
    const emptyDir = scratch();
    const first = fakeCli(join(scratch(), 'first'));
    fakeCli(join(scratch(), 'second'));
    const notExecutableDir = scratch();
    fakeCli(notExecutableDir, false);
    const cacheDir = join(scratch(), 'cache');
    fakeCli(join(cacheDir, 'bin'));
    const pathEnv = ['/does/not/exist', emptyDir, notExecutableDir, join(first, '..'), join(scratch(), 'second')].join(':');
    const { lines, logger } = recordingLogger();
    expect(await findTemporalCli(options({ pathEnv, cacheDir, logger }))).toBe(first);
    expect(lines.join('\n')).toMatch(/on PATH/);
  });

  it('then the cache outside the work tree', async () => {
    const cacheDir = join(scratch(), 'cache');
    const cached = fakeCli(join(cacheDir, 'bin'));
    expect(cached).toBe(cachedCliPath(cacheDir));
    const { lines, logger } = recordingLogger();
    expect(await findTemporalCli(options({ cacheDir, pathEnv: scratch(), logger }))).toBe(cached);
    expect(lines.join('\n')).toMatch(/cached/);
  });

  it('nothing found, building and downloading not allowed: one error naming every way to fix it', async () => {
    const { lines, logger } = recordingLogger();
    const err = await findTemporalCli(options({ logger })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemporalCliNotFound);
    const message = (err as Error).message;
    expect(message).toContain('set TEMPORAL_CLI_PATH');
    expect(message).toContain('install temporal on PATH');
    expect(message).toContain('install Go');
    expect(message).toContain('go install github.com/temporalio/cli/cmd/temporal@v1.5.1');
    expect(message).toContain('allow network access');
    expect(message).toContain('npx tsx scripts/provision-temporal.ts');
    // What was tried, so the reader knows why each way failed.
    expect(message).toContain('building with Go was not allowed here');
    expect(message).toContain('downloading was not allowed here');
    expect(lines.join('\n')).not.toMatch(/building|downloading the official/);
  });
});

describe('provisioning the temporal CLI into the cache (no network: a fake go, a stubbed fetch)', () => {
  const realPath = process.env.PATH;
  afterEach(() => {
    process.env.PATH = realPath;
    vi.unstubAllGlobals();
  });

  /** Puts a `go` script first on this process's PATH; it records its arguments and environment. */
  function fakeGo(body: string): string {
    const dir = scratch();
    const record = join(dir, 'record');
    writeFileSync(
      join(dir, 'go'),
      `#!/bin/sh\nif [ "$1" = version ]; then echo "go version fake"; exit 0; fi\necho "$* CGO_ENABLED=$CGO_ENABLED GOBIN=$GOBIN" > ${record}\n${body}\n`,
    );
    chmodSync(join(dir, 'go'), 0o755);
    process.env.PATH = `${dir}:${realPath}`;
    return record;
  }

  it('builds with go install into the cache, saying it takes minutes', async () => {
    const record = fakeGo('printf \'#!/bin/sh\\necho temporal version 1.5.1\\n\' > "$GOBIN/temporal"\nchmod +x "$GOBIN/temporal"');
    const cacheDir = join(scratch(), 'cache');
    const { lines, logger } = recordingLogger();
    const path = await findTemporalCli(options({ cacheDir, allowBuild: true, logger }));
    expect(path).toBe(cachedCliPath(cacheDir));
    expect(execFileSync(path, ['--version'], { encoding: 'utf8' })).toContain('1.5.1');
    expect(readFileSync(record, 'utf8')).toMatch(/^install github\.com\/temporalio\/cli\/cmd\/temporal@v1\.5\.1 CGO_ENABLED=0 GOBIN=/);
    expect(lines.join('\n')).toMatch(/several minutes/);
    expect(readdirSync(join(cacheDir, 'bin'))).toEqual(['temporal']); // no staging left behind
  });

  it('a failed build is reported with the end of go\'s output, then the next way is tried', async () => {
    fakeGo('echo "go: downloading github.com/temporalio/cli v1.5.1" >&2\necho "dial tcp: lookup proxy.golang.org: no such host" >&2\nexit 1');
    const cacheDir = join(scratch(), 'cache');
    const err = await findTemporalCli(options({ cacheDir, allowBuild: true })).then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(TemporalCliNotFound);
    expect(err.message).toMatch(/building with Go failed: go install .* ended with exit code 1:[\s\S]*no such host/);
    expect(err.message).toContain('downloading was not allowed here');
    expect(existsSync(cachedCliPath(cacheDir))).toBe(false);
  });

  it('downloads the official archive for this platform and extracts it with tar into the cache', async () => {
    const src = scratch();
    writeFileSync(join(src, 'temporal'), '#!/bin/sh\necho temporal version 1.5.1\n');
    chmodSync(join(src, 'temporal'), 0o755);
    writeFileSync(join(src, 'LICENSE'), 'MIT');
    const archive = join(scratch(), 'temporal.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', src, 'LICENSE', 'temporal']);
    const fetchMock = vi.fn(async (_url: string) => new Response(readFileSync(archive)));
    vi.stubGlobal('fetch', fetchMock);

    const cacheDir = join(scratch(), 'cache');
    const path = await findTemporalCli(options({ cacheDir, allowDownload: true }));
    expect(path).toBe(cachedCliPath(cacheDir));
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    expect(fetchMock.mock.calls[0]?.[0]).toBe(
      `https://temporal.download/cli/archive/v1.5.1?platform=${process.platform}&arch=${arch}`,
    );
    expect(readdirSync(join(cacheDir, 'bin'))).toEqual(['temporal']);
  });

  it('a failed download is named in the one error', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('nope', { status: 503 })));
    const err = await findTemporalCli(options({ allowDownload: true })).then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/the download failed: https:\/\/temporal\.download\/cli\/archive\/v1\.5\.1\?.* answered HTTP 503/);
    expect(err.message).toContain('allow network access');
  });
});
