/** installRuntime's SDK exporter, each case in a process of its own (one Runtime per process). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');

async function probe(env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(__dirname, 'runtime-probe.ts')], {
    cwd: ROOT,
    env: { ...process.env, OPS_CONFIG: '', ...env },
    timeout: 60_000,
  });
  return stdout.trim();
}

describe('installRuntime', () => {
  it('serves the SDK metrics on a free loopback port when this process serves HTTP', async () => {
    expect(await probe({ OPS_HTTP: 'true' })).toMatch(/^sdk metrics: http:\/\/127\.0\.0\.1:\d+\/metrics 200$/);
  });

  it('leaves the exporter off when HTTP is off (nothing would scrape it)', async () => {
    expect(await probe({ OPS_HTTP: 'false' })).toBe('sdk metrics: off 0');
  });
});
