import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachedCliPath, findTemporalCli, TemporalCliNotFound } from '../../src/temporal/cli-binary';

const logger = { info: () => undefined, warn: () => undefined };

function fakeCli(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'temporal');
  writeFileSync(path, '#!/bin/sh\necho fake\n');
  chmodSync(path, 0o755);
  return path;
}

describe('finding the temporal CLI (never building or downloading in tests)', () => {
  const base = () => mkdtempSync(join(tmpdir(), 'ops-cli-'));
  const opts = (over: Partial<Parameters<typeof findTemporalCli>[0]>) => ({
    cacheDir: join(base(), 'cache'),
    allowBuild: false,
    allowDownload: false,
    logger,
    pathEnv: '',
    ...over,
  });

  it('TEMPORAL_CLI_PATH wins over PATH and the cache', async () => {
    const explicit = fakeCli(join(base(), 'explicit'));
    const onPath = fakeCli(join(base(), 'path'));
    expect(await findTemporalCli(opts({ cliPath: explicit, pathEnv: join(onPath, '..') }))).toBe(explicit);
  });

  it('a TEMPORAL_CLI_PATH that is not executable is an error, not a fallback', async () => {
    await expect(findTemporalCli(opts({ cliPath: '/nonexistent/temporal' }))).rejects.toThrow(
      /TEMPORAL_CLI_PATH is set to \/nonexistent\/temporal, which is not an executable file/,
    );
  });

  it('then `temporal` on PATH, then the cache outside the work tree', async () => {
    const dir = join(base(), 'bin');
    const onPath = fakeCli(dir);
    expect(await findTemporalCli(opts({ pathEnv: `/nowhere:${dir}` }))).toBe(onPath);
    const cacheDir = join(base(), 'cache');
    const cached = fakeCli(join(cacheDir, 'bin'));
    expect(cached).toBe(cachedCliPath(cacheDir));
    expect(await findTemporalCli(opts({ cacheDir }))).toBe(cached);
  });

  it('nothing found, build and download not allowed: one message naming every way to fix it', async () => {
    const err = await findTemporalCli(opts({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemporalCliNotFound);
    const message = (err as Error).message;
    expect(message).toContain('TEMPORAL_CLI_PATH');
    expect(message).toContain('on PATH');
    expect(message).toContain('go install github.com/temporalio/cli/cmd/temporal@v1.5.1');
    expect(message).toContain('TEMPORAL_ADDRESS');
  });
});
