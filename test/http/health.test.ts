/**
 * /healthz and /readyz on both stores: ready with Temporal, the store and a running worker; not
 * ready (503, the failed check named) with a closed store, without a worker, with a stopped one.
 * And the real listener: bound to the configured address, closed with a wait still open.
 */
import { Client, Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { OpsClient } from '../../src/client';
import { buildHttpApp, startHttpApi } from '../../src/http/server';
import { READY_CHECK_TIMEOUT_MS } from '../../src/http/routes/health';
import { DIALECTS, openTestStore } from '../store/fixtures';
import { auth, httpSystemPerSuite } from './http-system';

async function unpolledRuns(client: Client, taskQueue: string): Promise<number> {
  let n = 0;
  for await (const run of client.workflow.list()) if (run.taskQueue === taskQueue && run.status.name === 'RUNNING') n++;
  return n;
}

for (const dialect of DIALECTS) {
  describe(`HTTP API health on ${dialect}`, () => {
    const h = httpSystemPerSuite(dialect);

    it('answers /healthz without a token', async () => {
      const res = await h().app.inject({ method: 'GET', url: '/healthz' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
    });

    it('is ready with Temporal, the store and the worker running', async () => {
      const { app } = h();
      await expect.poll(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode, { timeout: 20_000, interval: 200 }).toBe(200);
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.json()).toEqual({
        status: 'ready',
        checks: { temporal: { ok: true }, store: { ok: true }, worker: { ok: true, state: 'RUNNING' } },
        failed: [],
      });
    });

    it('is not ready when the store cannot be reached, naming it', async () => {
      const { deps, sys } = h();
      const closed = await openTestStore(dialect);
      await closed.store.db.selectFrom('kysely_migration' as never).selectAll().limit(1).execute().catch(() => undefined);
      await closed.dispose();
      const app = await buildHttpApp({ ...deps, ops: new OpsClient(sys.client, closed.store, sys.config) });
      try {
        const res = await app.inject({ method: 'GET', url: '/readyz' });
        expect(res.statusCode).toBe(503);
        const body = res.json() as { status: string; failed: string[]; checks: Record<string, { ok: boolean; error?: string }> };
        expect(body).toMatchObject({ status: 'not_ready', failed: ['store'], checks: { temporal: { ok: true }, worker: { ok: true }, store: { ok: false } } });
        expect(body.checks.store!.error).toEqual(expect.any(String));
        expect(res.body).not.toMatch(/\s+at .*\.(ts|js):\d+/);
      } finally {
        await app.close();
      }
    });

    it('is not ready when Temporal does not answer, naming it, within the check deadline', async () => {
      const { deps, sys } = h();
      // Nothing listens on port 1: every call fails (or times out) as with a Temporal that is down.
      const connection = Connection.lazy({ address: '127.0.0.1:1' });
      const app = await buildHttpApp({ ...deps, ops: new OpsClient(new Client({ connection, namespace: sys.config.temporal.namespace }), sys.store, sys.config) });
      try {
        const asked = performance.now();
        const res = await app.inject({ method: 'GET', url: '/readyz' });
        expect(performance.now() - asked).toBeLessThan(READY_CHECK_TIMEOUT_MS + 1000);
        expect(res.statusCode).toBe(503);
        expect(res.json()).toMatchObject({ failed: ['temporal'], checks: { temporal: { ok: false, error: expect.any(String) }, store: { ok: true } } });
      } finally {
        await app.close();
        // The client's retry interceptor may still have a retry timer of the failed call; closing the
        // channel before it fires makes that retry throw (uncaught) from the SDK.
        await new Promise((done) => setTimeout(done, READY_CHECK_TIMEOUT_MS));
        await connection.close();
      }
    });

    it('is not ready without a worker in the process', async () => {
      const { deps } = h();
      const app = await buildHttpApp({ ...deps, worker: undefined });
      try {
        const res = await app.inject({ method: 'GET', url: '/readyz' });
        expect(res.statusCode).toBe(503);
        expect(res.json()).toMatchObject({ failed: ['worker'], checks: { worker: { ok: false, error: 'no worker runs in this process' } } });
      } finally {
        await app.close();
      }
    });

    it('listens on the configured address; close() ends an open wait at once (202)', async () => {
      const { deps, sys } = h();
      const config = {
        ...sys.config,
        http: { ...sys.config.http, address: '127.0.0.1:0' },
        temporal: { ...sys.config.temporal, taskQueue: `${sys.config.temporal.taskQueue}-unpolled` },
      };
      const api = await startHttpApi({ ...deps, config, ops: new OpsClient(sys.client, sys.store, config) });
      let closed = false;
      try {
        expect(api.address).toMatch(/^127\.0\.0\.1:\d+$/);
        const health = await fetch(`http://${api.address}/healthz`);
        expect(await health.json()).toEqual({ status: 'ok' });
        const controls = await fetch(`http://${api.address}/v1/controls`, { headers: auth });
        expect(controls.status).toBe(200);

        const waiting = fetch(`http://${api.address}/v1/jobs/health_monitor/runs?wait=true&timeoutSeconds=600`, { method: 'POST', headers: auth });
        // The run exists once the wait is under way.
        await expect.poll(() => unpolledRuns(sys.client, config.temporal.taskQueue), { timeout: 10_000 }).toBeGreaterThan(0);
        const closing = performance.now();
        await api.close();
        closed = true;
        const answer = await waiting;
        expect(performance.now() - closing).toBeLessThan(5000);
        expect(answer.status).toBe(202);
        const { workflowId } = (await answer.json()) as { workflowId: string };
        await sys.client.workflow.getHandle(workflowId).terminate('http test: done');
      } finally {
        if (!closed) await api.close();
      }
    });

    it('is not ready once the worker stopped, naming its state', async () => {
      const { app, worker } = h();
      worker.shutdown();
      await expect.poll(() => worker.state(), { timeout: 30_000 }).not.toBe('RUNNING');
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ failed: ['worker'], checks: { worker: { ok: false, state: expect.not.stringMatching(/^RUNNING$/) } } });
    });
  });
}
