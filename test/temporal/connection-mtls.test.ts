/**
 * mTLS end to end. `temporal server start-dev` has no TLS flags, so the run's dev server is put
 * behind a TLS terminator on loopback that demands a client certificate from our CA (as a
 * self-hosted cluster with mTLS does), certificates made by openssl. Through it: OpsClient.connect
 * (opsctl), NativeConnection (the worker) and the probes of `npm start` work with the settings, and
 * fail without a client certificate, with the wrong CA, or in plaintext.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OpsClient, OpsConnectError } from '../../src/client';
import { loadConfig, type Config } from '../../src/config';
import { temporalConnectionOptions } from '../../src/temporal/connection';
import { ensureTemporal, splitAddress, temporalAnswers } from '../../src/temporal/dev-server';
import { claimNamespace } from '../helpers/temporal';
import { makePki, type TestPki } from './connection-certs';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Terminator {
  address: string;
  /** Handshakes refused (no or a wrong client certificate, plaintext). */
  refused: number;
  close(): Promise<void>;
}

/** TLS on 127.0.0.1:<free port>, client certificate required, each connection piped to `upstream`. */
async function tlsTerminator(pki: TestPki, upstream: string): Promise<Terminator> {
  const { host, port } = splitAddress(upstream);
  const sockets = new Set<Socket>();
  const state = { refused: 0 };
  const server: Server = createServer(
    {
      cert: readFileSync(pki.serverCert),
      key: readFileSync(pki.serverKey),
      ca: readFileSync(pki.ca),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (client: TLSSocket) => {
      const server = netConnect({ host: host === 'localhost' ? '127.0.0.1' : host, port });
      for (const s of [client, server]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(server).pipe(client);
      client.once('close', () => server.destroy());
      server.once('close', () => client.destroy());
    },
  );
  server.on('tlsClientError', () => state.refused++);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}

describe('mTLS to Temporal', () => {
  let pki: TestPki;
  let proxy: Terminator;
  let namespace: string;
  const configWith = (env: Record<string, string>): Config =>
    loadConfig({ TEMPORAL_ADDRESS: proxy.address, TEMPORAL_NAMESPACE: namespace, OPS_DATA_DIR: mkdtempSync(join(tmpdir(), 'ops-mtls-')), ...env });
  // The address is an IP; the certificate is checked against the name it was issued to.
  const mtls = () => ({ TEMPORAL_TLS_CA: pki.ca, TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_KEY: pki.clientKey, TEMPORAL_TLS_SERVER_NAME: 'localhost' });

  beforeAll(async () => {
    pki = makePki();
    namespace = claimNamespace();
    proxy = await tlsTerminator(pki, inject('temporalAddress'));
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it('OpsClient.connect (opsctl) works with a client certificate from the CA', async () => {
    const ops = await OpsClient.connect(configWith(mtls()));
    try {
      const ns = await ops.temporal.workflowService.describeNamespace({ namespace });
      expect(ns.namespaceInfo?.name).toBe(namespace);
      const schedules = await ops.listSchedules();
      expect(schedules).toHaveLength(10);
    } finally {
      await ops.close();
    }
  });

  it('the worker’s NativeConnection works with the same options', async () => {
    const connection = await NativeConnection.connect(temporalConnectionOptions(configWith(mtls())));
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toMatch(/^\d+\.\d+/);
    } finally {
      await connection.close();
    }
  });

  it('npm start’s probes speak TLS: the server counts as answering, and is used as it is', async () => {
    const config = configWith(mtls());
    expect(await temporalAnswers(temporalConnectionOptions(config))).toBe(true);
    expect(await temporalAnswers(config.temporal.address)).toBe(false);
    const handle = await ensureTemporal(config, silent, { allowBuild: false, allowDownload: false });
    expect(handle).toMatchObject({ origin: 'external', startedDevServer: false });
  });

  it('without a client certificate, with the wrong CA, or in plaintext: refused', async () => {
    const before = proxy.refused;
    const attempts: Record<string, string>[] = [
      { TEMPORAL_TLS_CA: pki.ca },
      { ...mtls(), TEMPORAL_TLS_CA: pki.otherCa },
      { ...mtls(), TEMPORAL_TLS_SERVER_NAME: 'temporal.elsewhere.example' },
      {},
    ];
    for (const env of attempts) {
      const failed = await OpsClient.connect(configWith(env)).then(
        async (ops) => {
          await ops.close();
          return undefined;
        },
        (err: unknown) => err,
      );
      expect(failed).toBeInstanceOf(OpsConnectError);
      expect((failed as OpsConnectError).target).toBe('temporal');
    }
    // The first two were turned away in the handshake (the plaintext one never made one).
    expect(proxy.refused - before).toBeGreaterThanOrEqual(1);
  });

  it('TLS configured and nothing answers: npm start says so instead of starting a plaintext dev server', async () => {
    const config = loadConfig({ ...mtls(), TEMPORAL_ADDRESS: '127.0.0.1:1', OPS_DATA_DIR: mkdtempSync(join(tmpdir(), 'ops-mtls-')) });
    await expect(ensureTemporal(config, silent, { allowBuild: false, allowDownload: false })).rejects.toThrow(
      /No Temporal server answers at 127\.0\.0\.1:1 over TLS .* speaks plaintext only/,
    );
  });
});
