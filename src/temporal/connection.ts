/**
 * How every process connects to Temporal: plain on loopback (the dev server), TLS with a private
 * CA and a client certificate (a self-hosted cluster with mTLS), or TLS with an API key (Temporal
 * Cloud). The files are read here, once, so a missing or unreadable one is a clear start-up error
 * naming the setting, not a handshake failure later.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError, type Config } from '../config';

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

/** Options for Connection.connect and NativeConnection.connect alike. */
export function temporalConnectionOptions(config: Config): TemporalConnectionOptions {
  const { address, tls, apiKey } = config.temporal;
  // A bearer token never goes out in plaintext, and is never silently left out either.
  if (apiKey && tls.enabled === false) {
    throw new ConfigError('Invalid configuration:\n  - temporal.apiKey (TEMPORAL_API_KEY): an API key is sent only over TLS, but temporal.tls.enabled (TEMPORAL_TLS) is false');
  }
  const wantsTls = tls.enabled ?? Boolean(tls.caFile || tls.certFile || tls.keyFile || apiKey);
  if (!wantsTls) return { address };
  const options: TLSConfig = {};
  if (tls.serverName) options.serverNameOverride = tls.serverName;
  if (tls.caFile) options.serverRootCACertificate = readPem(tls.caFile, 'temporal.tls.caFile (TEMPORAL_TLS_CA)', 'CERTIFICATE');
  if (tls.certFile && tls.keyFile) {
    options.clientCertPair = {
      crt: readPem(tls.certFile, 'temporal.tls.certFile (TEMPORAL_TLS_CERT)', 'CERTIFICATE'),
      key: readPem(tls.keyFile, 'temporal.tls.keyFile (TEMPORAL_TLS_KEY)', 'PRIVATE KEY'),
    };
  }
  return { address, tls: options, ...(apiKey ? { apiKey } : {}) };
}

/** How the connection is secured, for logs and `opsctl status` (never a secret). */
export function describeTemporalSecurity(config: Config): string {
  const { tls, apiKey } = config.temporal;
  const wantsTls = tls.enabled ?? Boolean(tls.caFile || tls.certFile || tls.keyFile || apiKey);
  if (!wantsTls) return 'plaintext';
  const parts = ['TLS'];
  if (tls.certFile) parts.push('client certificate (mTLS)');
  if (tls.caFile) parts.push('private CA');
  if (apiKey) parts.push('API key');
  return parts.join(', ');
}

function readPem(path: string, setting: string, kind: 'CERTIFICATE' | 'PRIVATE KEY'): Buffer {
  const full = resolve(path);
  let data: Buffer;
  try {
    data = readFileSync(full);
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n  - ${setting}: cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // "-----BEGIN CERTIFICATE-----", "-----BEGIN PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----", ...
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(data.toString('latin1'))) {
    throw new ConfigError(`Invalid configuration:\n  - ${setting}: ${full} is not a PEM ${kind.toLowerCase()}`);
  }
  return data;
}
