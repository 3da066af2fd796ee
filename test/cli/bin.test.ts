/** bin/opsctl.js as a real process: what `npx opsctl` runs, with no build step. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = resolve(__dirname, '../../bin/opsctl.js');
// OPS_CONFIG unset so a developer's own config file cannot change the outcome.
const env = { ...process.env, OPS_CONFIG: '' };

describe('bin/opsctl.js', () => {
  it('--help exits 0 with the usage on stdout', async () => {
    const { stdout, stderr } = await run('node', [bin, '--help'], { env });
    expect(stdout).toContain('Usage: opsctl');
    expect(stderr).toBe('');
  });

  it('a bad job name exits 2 with the message on stderr and nothing on stdout', async () => {
    const err = await run('node', [bin, 'run', 'no_such_job', '--json'], { env }).then(
      () => {
        throw new Error('expected exit code 2');
      },
      (e: unknown) => e as { code: number; stdout: string; stderr: string },
    );
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('unknown job "no_such_job"');
    expect(err.stdout).toBe('');
  });

  it('an unreachable Temporal exits 1 naming TEMPORAL_ADDRESS, and the process does not hang', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'opsctl-bin-'));
    try {
      const err = await run('node', [bin, 'status', '--json'], {
        env: { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1', OPS_DATA_DIR: dataDir, DATABASE_URL: '' },
        timeout: 30_000,
      }).then(
        () => {
          throw new Error('expected exit code 1');
        },
        (e: unknown) => e as { code: number; killed: boolean; stdout: string; stderr: string },
      );
      expect(err).toMatchObject({ code: 1, killed: false, stdout: '' });
      expect(err.stderr).toContain('cannot reach Temporal at 127.0.0.1:1 (TEMPORAL_ADDRESS)');
      // Temporal is tried first: nothing was created in the data dir.
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
