/**
 * Where our dev server listens. Its frontend and Web UI have no authentication, so both stay on
 * loopback; only TEMPORAL_ADDRESS=0.0.0.0:<port>, written on purpose, exposes the frontend, and
 * the UI stays on loopback even then. Checked on real dev servers against this machine's own
 * non-loopback address.
 */
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { configSchema, type Config } from '../../src/config';
import { devServerArgs, ensureTemporal, type TemporalHandle } from '../../src/temporal/dev-server';
import { freePort } from '../helpers/ports';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function devConfig(host: string): Promise<Config> {
  return configSchema.parse({
    dataDir: mkdtempSync(join(tmpdir(), 'ops-bind-')),
    temporal: { address: `${host}:${await freePort()}`, uiPort: await freePort(), cliPath: inject('temporalCliPath'), namespace: 'default' },
  });
}

function open(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: 1000 });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.once('connect', () => finish(true));
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
  });
}

/** This machine's first non-loopback IPv4 address (the test machine has one: eth0). */
function externalAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  if (!found) throw new Error('this machine has no non-loopback IPv4 address to test binding against');
  return found.address;
}

const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];

describe('the dev server binds loopback', () => {
  const handles: TemporalHandle[] = [];
  afterAll(async () => {
    await Promise.all(handles.map((h) => h.stop()));
  });

  it('asks for loopback: "localhost" becomes 127.0.0.1, and the UI is on 127.0.0.1 whatever the frontend binds', async () => {
    const local = devServerArgs(await devConfig('localhost'));
    expect([flag(local, '--ip'), flag(local, '--ui-ip')]).toEqual(['127.0.0.1', '127.0.0.1']);
    const exposed = devServerArgs(await devConfig('0.0.0.0'));
    expect([flag(exposed, '--ip'), flag(exposed, '--ui-ip')]).toEqual(['0.0.0.0', '127.0.0.1']);
  });

  it('by default neither the frontend nor the Web UI answers on the machine’s own address', async () => {
    const config = await devConfig('127.0.0.1');
    const handle = await ensureTemporal(config, silent, { allowBuild: false, allowDownload: false });
    handles.push(handle);
    const port = Number(config.temporal.address.split(':')[1]);
    const ui = config.temporal.uiPort;
    await expect.poll(() => open('127.0.0.1', ui), { timeout: 20_000 }).toBe(true);
    expect(await open('127.0.0.1', port)).toBe(true);
    const outside = externalAddress();
    expect(await open(outside, port)).toBe(false);
    expect(await open(outside, ui)).toBe(false);
  });

  it('TEMPORAL_ADDRESS=0.0.0.0 exposes the frontend on purpose, and still not the Web UI', async () => {
    const config = await devConfig('0.0.0.0');
    const handle = await ensureTemporal(config, silent, { allowBuild: false, allowDownload: false });
    handles.push(handle);
    const port = Number(config.temporal.address.split(':')[1]);
    const ui = config.temporal.uiPort;
    await expect.poll(() => open('127.0.0.1', ui), { timeout: 20_000 }).toBe(true);
    const outside = externalAddress();
    expect(await open(outside, port)).toBe(true);
    expect(await open(outside, ui)).toBe(false);
  });
});
