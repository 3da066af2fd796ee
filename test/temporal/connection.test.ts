/**
 * How every process connects to Temporal (src/temporal/connection.ts): plaintext by default, TLS
 * when asked for or implied (a file, an API key), and every bad setting refused with a ConfigError
 * naming it, before any handshake. The files are real ones made by openssl.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { describeTemporalSecurity, temporalConnectionOptions } from '../../src/temporal/connection';
import { runCli } from '../../src/cli';
import { makePki, type TestPki } from './connection-certs';

const options = (env: Record<string, string>) => temporalConnectionOptions(loadConfig(env));

describe('Temporal connection options', () => {
  let pki: TestPki;
  let scratch: string;
  beforeAll(() => {
    pki = makePki();
    scratch = mkdtempSync(join(tmpdir(), 'ops-conn-'));
  });

  it('is plaintext by default, with nothing secret in it', () => {
    const config = loadConfig({});
    expect(temporalConnectionOptions(config)).toEqual({ address: 'localhost:7233' });
    expect(describeTemporalSecurity(config)).toBe('plaintext');
  });

  it('TEMPORAL_TLS=true alone: TLS with the system roots', () => {
    expect(options({ TEMPORAL_TLS: 'true', TEMPORAL_ADDRESS: 'temporal.example:7233' })).toEqual({ address: 'temporal.example:7233', tls: {} });
  });

  it('an API key implies TLS and is passed on', () => {
    const config = loadConfig({ TEMPORAL_API_KEY: 'k-123', TEMPORAL_ADDRESS: 'ns.tmprl.cloud:7233' });
    expect(temporalConnectionOptions(config)).toEqual({ address: 'ns.tmprl.cloud:7233', tls: {}, apiKey: 'k-123' });
    expect(describeTemporalSecurity(config)).toBe('TLS, API key');
  });

  it('an API key with TLS turned off is refused, never sent in plaintext nor dropped', () => {
    expect(() => options({ TEMPORAL_API_KEY: 'k-123', TEMPORAL_TLS: 'false' })).toThrow(ConfigError);
    expect(() => options({ TEMPORAL_API_KEY: 'k-123', TEMPORAL_TLS: 'false' })).toThrow(/temporal\.apiKey \(TEMPORAL_API_KEY\): an API key is sent only over TLS/);
  });

  it('mTLS: the CA, certificate and key are read once, as given; the server name is overridden', () => {
    const config = loadConfig({ TEMPORAL_TLS_CA: pki.ca, TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_KEY: pki.clientKey, TEMPORAL_TLS_SERVER_NAME: 'localhost' });
    const opts = temporalConnectionOptions(config);
    expect(opts.tls?.serverRootCACertificate).toEqual(readFileSync(pki.ca));
    expect(opts.tls?.clientCertPair).toEqual({ crt: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) });
    expect(opts.tls?.serverNameOverride).toBe('localhost');
    expect(describeTemporalSecurity(config)).toBe('TLS, client certificate (mTLS), private CA');
  });

  it('a certificate without its key (or a key without its certificate) is refused naming both settings', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: pki.clientCert })).toThrow(/temporal\.tls\.keyFile: required with certFile \(TEMPORAL_TLS_CERT\): mTLS needs both, set TEMPORAL_TLS_KEY too/);
    expect(() => loadConfig({ TEMPORAL_TLS_KEY: pki.clientKey })).toThrow(/temporal\.tls\.certFile: required with keyFile \(TEMPORAL_TLS_KEY\)/);
  });

  it('files given with TLS turned off are refused', () => {
    expect(() => loadConfig({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: pki.ca })).toThrow(/temporal\.tls\.enabled \(TEMPORAL_TLS\): TLS files are set .* but TLS is off/);
  });

  it('a missing or unreadable file is a ConfigError naming the setting and the file', () => {
    const missing = join(scratch, 'no-such.pem');
    expect(() => options({ TEMPORAL_TLS_CA: missing })).toThrow(ConfigError);
    expect(() => options({ TEMPORAL_TLS_CA: missing })).toThrow(`temporal.tls.caFile (TEMPORAL_TLS_CA): cannot read ${missing}: ENOENT`);
    // A directory cannot be read as a file (even by root, who ignores file modes).
    const dir = join(scratch, 'a-dir.pem');
    mkdirSync(dir, { recursive: true });
    expect(() => options({ TEMPORAL_TLS_CERT: dir, TEMPORAL_TLS_KEY: pki.clientKey })).toThrow(
      `temporal.tls.certFile (TEMPORAL_TLS_CERT): cannot read ${dir}: EISDIR`,
    );
    expect(() => options({ TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_KEY: missing })).toThrow(/temporal\.tls\.keyFile \(TEMPORAL_TLS_KEY\): cannot read .*ENOENT/);
  });

  it('a file that is not PEM, or the wrong kind of PEM, is refused naming the setting', () => {
    const garbage = join(scratch, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    expect(() => options({ TEMPORAL_TLS_CA: garbage })).toThrow(`temporal.tls.caFile (TEMPORAL_TLS_CA): ${garbage} is not a PEM certificate`);
    // A key where the certificate belongs, and the other way round.
    expect(() => options({ TEMPORAL_TLS_CERT: pki.clientKey, TEMPORAL_TLS_KEY: pki.clientKey })).toThrow(/temporal\.tls\.certFile \(TEMPORAL_TLS_CERT\): .* is not a PEM certificate/);
    expect(() => options({ TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_KEY: pki.clientCert })).toThrow(/temporal\.tls\.keyFile \(TEMPORAL_TLS_KEY\): .* is not a PEM private key/);
  });

  it('opsctl with a bad TLS file exits 2 naming the setting (a configuration error, not an outage)', async () => {
    const missing = join(scratch, 'gone.pem');
    let stderr = '';
    let stdout = '';
    // The real OpsClient.connect: it reads the files before it dials anything.
    const code = await runCli(['status'], {
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
      env: { USER: 'tester', TEMPORAL_TLS_CA: missing, OPS_DATA_DIR: scratch, TEMPORAL_ADDRESS: '127.0.0.1:1' },
    });
    expect(stderr).toMatch(/temporal\.tls\.caFile \(TEMPORAL_TLS_CA\): cannot read .*gone\.pem: ENOENT/);
    expect(code).toBe(2);
    expect(stdout).toBe('');
  });
});
