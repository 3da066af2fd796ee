/**
 * The production Temporal server's binaries: found only in the cache, under versioned names, and
 * a missing one is reported with the command that provisions it (tests and scripts never build).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cachedServerBinaries, findTemporalServer, TEMPORAL_SERVER_VERSION, TemporalServerNotFound } from '../../src/temporal/server-binary';
import { TEMPORAL_CLI_VERSION } from '../../src/temporal/cli-binary';

const dirs: string[] = [];
const cacheDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'ops-server-binary-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the production Temporal server binaries', () => {
  it('live in the cache under names that carry the version, beside the CLI', () => {
    const dir = cacheDir();
    const version = TEMPORAL_SERVER_VERSION.replace(/^v/, '');
    expect(cachedServerBinaries(dir)).toEqual({
      server: join(dir, 'bin', `temporal-server-${version}`),
      sqlTool: join(dir, 'bin', `temporal-sql-tool-${version}`),
    });
    // The CLI v1.5.x embeds server v1.29.x: the dev server and production run one server.
    expect(TEMPORAL_CLI_VERSION).toMatch(/^v1\.5\./);
    expect(TEMPORAL_SERVER_VERSION).toMatch(/^v1\.29\./);
  });

  it('are refused when missing, naming each missing file and the provisioning command', () => {
    const dir = cacheDir();
    const paths = cachedServerBinaries(dir);
    mkdirSync(join(dir, 'bin'));
    writeFileSync(paths.server, '#!/bin/sh\n');
    chmodSync(paths.server, 0o755);
    let error: unknown;
    try {
      findTemporalServer(dir);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TemporalServerNotFound);
    const message = (error as Error).message;
    expect(message).toContain(paths.sqlTool);
    expect(message).not.toContain(`${paths.server},`);
    expect(message).toContain('npx tsx scripts/provision-temporal-server.ts');
  });

  it('are refused when present but not executable', () => {
    const dir = cacheDir();
    const paths = cachedServerBinaries(dir);
    mkdirSync(join(dir, 'bin'));
    for (const path of Object.values(paths)) writeFileSync(path, '#!/bin/sh\n');
    chmodSync(paths.server, 0o755);
    expect(() => findTemporalServer(dir)).toThrow(paths.sqlTool);
  });

  it('are found when both are executable files', () => {
    const dir = cacheDir();
    const paths = cachedServerBinaries(dir);
    mkdirSync(join(dir, 'bin'));
    for (const path of Object.values(paths)) {
      writeFileSync(path, '#!/bin/sh\n');
      chmodSync(path, 0o755);
    }
    expect(findTemporalServer(dir)).toEqual(paths);
  });
});
