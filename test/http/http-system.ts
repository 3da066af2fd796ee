/**
 * A system (its own namespace and store, SQLite or PostgreSQL) with a worker of this file's own,
 * so the API's deps get the real OpsWorker and its state(), and an HTTP app on it (app.inject).
 */
import { Writable } from 'node:stream';
import { NativeConnection } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import type { Dialect } from '../../src/store';
import type { HttpDeps } from '../../src/http/deps';
import { buildHttpApp } from '../../src/http/server';
import type { Logger } from '../../src/logger';
import { createWorker, type OpsWorker } from '../../src/worker';
import { startSystem, type TestSystem } from '../helpers/system';

export const TOKEN = 'http-test-token-0123456789';
export const BODY_LIMIT = 4096;
export const auth = { authorization: `Bearer ${TOKEN}` };

/** A logger whose JSON lines the test can read. */
export function capturedLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface HttpSystem {
  sys: TestSystem;
  worker: OpsWorker;
  deps: HttpDeps;
  app: FastifyInstance;
  log: ReturnType<typeof capturedLogger>;
}

export function httpSystemPerSuite(dialect: Dialect): () => HttpSystem {
  let state: (HttpSystem & { native: NativeConnection; running: Promise<void> }) | undefined;
  beforeAll(async () => {
    const sys = await startSystem({
      dialect,
      startWorker: false,
      config: { http: { token: TOKEN, bodyLimitBytes: BODY_LIMIT }, limits: { minFreeDiskMb: 1 } },
    });
    const native = await NativeConnection.connect({ address: sys.config.temporal.address });
    const log = capturedLogger();
    const worker = await createWorker({ config: sys.config, connection: native, client: sys.client, store: sys.store, logger: pino({ level: 'silent' }) });
    const running = worker.run();
    await sys.ops.ensureControls();
    const deps: HttpDeps = { config: sys.config, ops: sys.ops, logger: log.logger, worker };
    const app = await buildHttpApp(deps);
    state = { sys, worker, deps, app, log, native, running };
  });
  afterAll(async () => {
    if (!state) return;
    await state.app.close();
    if (state.worker.state() === 'RUNNING') state.worker.shutdown();
    await state.running;
    await state.native.close();
    await state.sys.close();
  });
  return () => {
    if (!state) throw new Error('the system is not started yet: read it inside a test or hook');
    return state;
  };
}
