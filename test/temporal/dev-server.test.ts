import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { configSchema, type Config } from '../../src/config';
import {
  devServerLogPath,
  devServerRecordPath,
  ensureTemporal,
  temporalAnswers,
  type TemporalHandle,
} from '../../src/temporal/dev-server';
import { claimNamespace, connectClient } from '../helpers/temporal';
import { freePort } from '../helpers/ports';



function spyLogger() {
  return { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
}

async function devConfig(over: { cliPath?: string; namespace?: string } = {}): Promise<Config> {
  return configSchema.parse({
    dataDir: mkdtempSync(join(tmpdir(), 'ops-dev-')),
    temporal: {
      address: `127.0.0.1:${await freePort()}`,
      uiPort: await freePort(),
      cliPath: over.cliPath ?? inject('temporalCliPath'),
      namespace: over.namespace ?? 'default',
    },
  });
}

/** A stand-in CLI for start-up failures, so they cost no real server. */
function fakeCli(script: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'ops-fake-cli-')), 'temporal');
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

const noProvisioning = { allowBuild: false, allowDownload: false };

describe('ensureTemporal: the server at TEMPORAL_ADDRESS, or a dev server of our own', () => {
  const handles: TemporalHandle[] = [];
  afterAll(async () => {
    await Promise.all(handles.map((h) => h.stop()));
  });

  it('starts a dev server where none answers, reuses it on a second call, and stop() ends it', async () => {
    const config = await devConfig({ namespace: 'personal' });
    const logger = spyLogger();
    expect(await temporalAnswers(config.temporal.address)).toBe(false);

    const started = await ensureTemporal(config, logger, noProvisioning);
    handles.push(started);
    expect(started).toMatchObject({
      address: config.temporal.address,
      startedDevServer: true,
      uiUrl: `http://localhost:${config.temporal.uiPort}`,
    });
    expect(logger.info).toHaveBeenCalledWith(
      expect.objectContaining({ uiUrl: started.uiUrl }),
      expect.stringContaining(`Web UI at ${started.uiUrl}`),
    );
    expect(existsSync(join(config.dataDir, 'temporal.sqlite'))).toBe(true);

    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      // The namespace and the search attributes come from the start-dev flags.
      await connection.workflowService.describeNamespace({ namespace: 'personal' });
      const attrs = await connection.operatorService.listSearchAttributes({ namespace: 'personal' });
      expect(Object.keys(attrs.customAttributes ?? {})).toEqual(expect.arrayContaining(['OpsJob', 'OpsOutcome']));
    } finally {
      await connection.close();
    }

    const reused = await ensureTemporal(config, spyLogger(), noProvisioning);
    expect(reused).toMatchObject({ address: config.temporal.address, startedDevServer: false });
    expect(reused.uiUrl).toBeUndefined();
    await reused.stop(); // not ours: a no-op
    expect(await temporalAnswers(config.temporal.address)).toBe(true);

    await started.stop();
    expect(await temporalAnswers(config.temporal.address)).toBe(false);
    expect(() => process.kill(started.pid!, 0)).toThrow();
    expect(logger.error).not.toHaveBeenCalled();
    await started.stop(); // twice is fine
  });

  it('a dev server that dies on its own is reported loudly', async () => {
    const config = await devConfig();
    const logger = spyLogger();
    const onUnexpectedExit = vi.fn();
    const started = await ensureTemporal(config, logger, { ...noProvisioning, onUnexpectedExit });
    handles.push(started);
    process.kill(started.pid!, 'SIGKILL');
    await vi.waitFor(() => expect(onUnexpectedExit).toHaveBeenCalledWith({ code: null, signal: 'SIGKILL' }));
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ signal: 'SIGKILL' }),
      expect.stringMatching(/TEMPORAL DEV SERVER DIED/),
    );
  });

  it('writes its output to a log file in the data dir (no pipe to us) and records its pid there', async () => {
    const config = await devConfig();
    const started = await ensureTemporal(config, spyLogger(), noProvisioning);
    handles.push(started);
    const record = JSON.parse(readFileSync(devServerRecordPath(config), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ pid: started.pid, ownerPid: process.pid, address: config.temporal.address });
    const fd = (n: string): string => {
      try {
        return readlinkSync(`/proc/${started.pid}/fd/${n}`);
      } catch {
        return ''; // no such descriptor
      }
    };
    expect(fd('1')).toBe(devServerLogPath(config));
    expect(fd('2')).toBe(devServerLogPath(config));
    expect(fd('0')).toBe('/dev/null');
    await started.stop();
    expect(existsSync(devServerRecordPath(config))).toBe(false);
  });

  it('a record whose pid is now another process is not trusted: that server is external, never stopped', async () => {
    const config = await devConfig();
    const address = inject('temporalAddress');
    const elsewhere = { ...config, temporal: { ...config.temporal, address } };
    writeFileSync(
      devServerRecordPath(elsewhere),
      JSON.stringify({ pid: process.pid, ownerPid: 999_999_999, address, uiPort: 1, db: join(config.dataDir, 'temporal.sqlite') }),
    );
    const handle = await ensureTemporal(elsewhere, spyLogger(), noProvisioning);
    expect(handle).toMatchObject({ origin: 'external', startedDevServer: false });
    await handle.stop();
    expect(await temporalAnswers(address)).toBe(true);
  });

  it('a dev server that fails to start: the error carries the end of its stderr', async () => {
    const cliPath = fakeCli('echo "listen tcp 127.0.0.1: bind: address already in use" >&2\nexit 1');
    const config = await devConfig({ cliPath });
    await expect(ensureTemporal(config, spyLogger(), noProvisioning)).rejects.toThrow(
      /exited while starting[\s\S]*temporal-dev-server\.log[\s\S]*bind: address already in use/,
    );
  });

  it('a dev server that never answers: a timeout naming the address, with its stderr, and the process ended', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'ops-pid-')), 'pid');
    const cliPath = fakeCli(`echo $$ > ${pidFile}\necho "still migrating the schema" >&2\nexec sleep 60`);
    const config = await devConfig({ cliPath });
    const err = await ensureTemporal(config, spyLogger(), { ...noProvisioning, startTimeoutMs: 2000 }).catch(
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`did not answer on ${config.temporal.address.replace(/\./g, '\\.')} within 2 s`));
    expect((err as Error).message).toContain('still migrating the schema');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('a port held by something that is not Temporal: a clear error, no dev server', async () => {
    const squatter: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    try {
      const config = await devConfig();
      const address = `127.0.0.1:${(squatter.address() as { port: number }).port}`;
      await expect(ensureTemporal({ ...config, temporal: { ...config.temporal, address } }, spyLogger(), noProvisioning)).rejects.toThrow(
        /Port \d+ is in use, but no Temporal server answered there/,
      );
    } finally {
      squatter.close();
    }
  });

  it('an address that is not local and does not answer: no dev server in its place', async () => {
    const config = await devConfig();
    const remote = { ...config, temporal: { ...config.temporal, address: 'temporal.invalid:7233' } };
    await expect(ensureTemporal(remote, spyLogger(), noProvisioning)).rejects.toThrow(
      /No Temporal server answers at temporal\.invalid:7233\. That is not a local address/,
    );
  });

  it('an external server without our namespace: says how to create it', async () => {
    const config = await devConfig();
    const elsewhere = { ...config, temporal: { ...config.temporal, address: inject('temporalAddress'), namespace: 'nope' } };
    await expect(ensureTemporal(elsewhere, spyLogger(), noProvisioning)).rejects.toThrow(
      /has no namespace "nope"[\s\S]*temporal operator namespace create --namespace nope/,
    );
  });
});

describe('the run-wide test server (test/global-setup.ts)', () => {
  it('answers in a claimed namespace, where OpsJob and OpsOutcome are registered', async () => {
    const namespace = claimNamespace();
    expect(namespace).toMatch(/^t\d\d$/);
    const { connection, client } = await connectClient(namespace);
    try {
      const described = await connection.workflowService.describeNamespace({ namespace });
      expect(described.namespaceInfo?.name).toBe(namespace);
      const attrs = await connection.operatorService.listSearchAttributes({ namespace });
      expect(Object.keys(attrs.customAttributes ?? {})).toEqual(expect.arrayContaining(['OpsJob', 'OpsOutcome']));
      const count = await client.workflow.count('OpsJob = "health_monitor"');
      expect(count.count).toBe(0);
    } finally {
      await connection.close();
    }
  });
});
