/**
 * The production entry (src/worker-main.ts, a real process) with the HTTP API beside its worker:
 * ready once the worker runs, closed on SIGTERM; OPS_HTTP=false turns it off; an address that
 * is taken leaves the jobs running without it, said at error level.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { claimNamespace } from '../helpers/temporal';
import { TOKEN } from './http-system';

const ROOT = resolve(__dirname, '../..');

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

interface Entry {
  lines: LogLine[];
  exited: Promise<number | null>;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<LogLine>;
  stop(): Promise<number | null>;
}

const running: Entry[] = [];

function workerMain(env: Record<string, string>): Entry {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      OPS_CONFIG: '',
      DATABASE_URL: '',
      OPS_DATA_DIR: mkdtempSync(join(tmpdir(), 'ops-http-entry-')),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: claimNamespace(),
      OPS_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      OPS_API_TOKEN: TOKEN,
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  const lines: LogLine[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        // Not a log line (e.g. the bundler's own output).
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const entry: Entry = {
    lines,
    exited,
    async waitForLog(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = lines.find((l) => pattern.test(l.msg));
        if (line) return line;
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`no log line ${pattern} (exit ${child.exitCode}); stderr: ${stderr.slice(-2000)}; log: ${lines.map((l) => l.msg).join(' | ').slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  running.push(entry);
  return entry;
}

afterAll(async () => {
  await Promise.all(running.map((e) => e.stop()));
});

describe('worker-main with the HTTP API', () => {
  it('serves the API once the worker runs (ready, /v1 with the token) and closes it on SIGTERM', async () => {
    const entry = workerMain({ OPS_HTTP_ADDRESS: '127.0.0.1:0' });
    const started = await entry.waitForLog(/^worker running$/);
    const address = started.http as string;
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    await expect.poll(async () => (await fetch(`http://${address}/readyz`)).status, { timeout: 30_000, interval: 250 }).toBe(200);
    const controls = await fetch(`http://${address}/v1/controls`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(controls.status).toBe(200);
    expect(await controls.json()).toMatchObject({ killSwitch: false });

    expect(await entry.stop()).toBe(0);
    await expect(fetch(`http://${address}/healthz`)).rejects.toThrow();
  }, 120_000);

  it('has no HTTP API with OPS_HTTP=false', async () => {
    const entry = workerMain({ OPS_HTTP: 'false' });
    const started = await entry.waitForLog(/^worker running$/);
    expect(started.http).toBeUndefined();
    expect(entry.lines.some((l) => l.msg === 'HTTP API off (OPS_HTTP=false)')).toBe(true);
    expect(entry.lines.some((l) => /HTTP API listening/.test(l.msg))).toBe(false);
    expect(await entry.stop()).toBe(0);
  }, 120_000);

  it('keeps the worker running without the API when its address is taken, saying so at error level', async () => {
    const taken: Server = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', () => done()));
    try {
      const port = (taken.address() as { port: number }).port;
      const entry = workerMain({ OPS_HTTP_ADDRESS: `127.0.0.1:${port}` });
      const started = await entry.waitForLog(/^worker running$/);
      expect(started.http).toBeUndefined();
      const error = entry.lines.find((l) => /^HTTP API off: /.test(l.msg));
      expect(error).toMatchObject({ level: 50 });
      expect(error!.msg).toContain(`127.0.0.1:${port}`);
      expect(error!.msg).toMatch(/EADDRINUSE/);
      expect(await entry.stop()).toBe(0);
    } finally {
      await new Promise((done) => taken.close(done));
    }
  }, 120_000);
});
