/**
 * The authenticated /v1 routes on both stores: bearer auth, refusals of bad input (nothing
 * changes), and the happy paths: a run started, waited for and read back; the kill switch on and off.
 */
import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { buildHttpApp } from '../../src/http/server';
import { OpsClient } from '../../src/client';
import { JOB_NAMES } from '../../src/jobs';
import { sqlitePath } from '../../src/config';
import { readControls } from '../../src/store';
import { holdSqliteLock, type HeldLock } from '../helpers/sqlite-lock';
import { DIALECTS } from '../store/fixtures';
import { auth, BODY_LIMIT, capturedLogger, httpSystemPerSuite, TOKEN } from './http-system';

const json = { 'content-type': 'application/json' };

/** The JobInput a run was started with, as its history holds it. */
async function startInput(sys: { client: Client }, workflowId: string): Promise<Record<string, unknown>> {
  const history = await sys.client.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  return JSON.parse(Buffer.from(payload.data!).toString()) as Record<string, unknown>;
}

for (const dialect of DIALECTS) {
  describe(`HTTP API /v1 on ${dialect}`, () => {
    const h = httpSystemPerSuite(dialect);

    describe('authentication', () => {
      const routes = [
        { method: 'GET' as const, url: '/v1/controls' },
        { method: 'GET' as const, url: '/v1/runs/some-run' },
        { method: 'POST' as const, url: '/v1/jobs/health_monitor/runs' },
        { method: 'POST' as const, url: '/v1/controls/kill-switch', payload: { on: true, reason: 'no token' } },
      ];

      it('refuses every /v1 route without a token, with a bad one or another scheme (401, WWW-Authenticate: Bearer), and nothing changes', async () => {
        const { app, sys } = h();
        const before = await sys.ops.getControls();
        const runsBefore = await sys.client.workflow.count();
        for (const route of routes) {
          for (const headers of [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: 'Bearer short' }, { authorization: `Basic ${TOKEN}` }, { authorization: TOKEN }]) {
            const res = await app.inject({ ...route, headers });
            expect(res.statusCode, `${route.method} ${route.url} ${JSON.stringify(headers)}`).toBe(401);
            expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="personal-ops"/);
            expect(res.json()).toEqual({ error: expect.stringMatching(/bearer|authentication/i) });
          }
        }
        expect(await sys.ops.getControls()).toEqual(before);
        expect(await sys.client.workflow.count()).toEqual(runsBefore);
      });

      it('lets the right token in', async () => {
        const res = await h().app.inject({ method: 'GET', url: '/v1/controls', headers: auth });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ killSwitch: expect.any(Boolean), version: expect.any(Number) });
      });

      it('has no /v1 routes without a configured token (404), says so at start, and keeps health', async () => {
        const { deps } = h();
        const log = capturedLogger();
        const app = await buildHttpApp({ ...deps, logger: log.logger, config: { ...deps.config, http: { ...deps.config.http, token: undefined } } });
        try {
          for (const route of routes) {
            for (const headers of [{}, auth]) {
              const res = await app.inject({ ...route, headers });
              expect(res.statusCode, `${route.method} ${route.url}`).toBe(404);
              expect(res.json()).toEqual({ error: expect.stringContaining('no route') });
            }
          }
          expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
          expect(log.lines().find((l) => l.level === 40 && /\/v1 routes .* are off: no token/.test(String(l.msg)))).toBeDefined();
        } finally {
          await app.close();
        }
      });

      it('logs one debug line per request, never the token', async () => {
        const { app, log } = h();
        await app.inject({ method: 'GET', url: '/v1/controls?probe=log-line', headers: auth });
        const lines = log.lines().filter((l) => String(l.url).includes('probe=log-line'));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatchObject({ level: 20, method: 'GET', statusCode: 200, component: 'http' });
        expect(JSON.stringify(log.lines())).not.toContain(TOKEN);
      });
    });

    describe('refusals (4xx naming the problem; nothing changes)', () => {
      it('refuses malformed JSON, wrong types, unknown keys, other content types and huge bodies; the controls stay as they were', async () => {
        const { app, sys } = h();
        const before = await sys.ops.getControls();
        const post = (payload: string | object, headers: Record<string, string> = json) =>
          app.inject({ method: 'POST', url: '/v1/controls/kill-switch', headers: { ...auth, ...headers }, payload });

        const malformed = await post('{"on": tru');
        expect(malformed.statusCode).toBe(400);
        expect(malformed.json()).toEqual({ error: 'malformed JSON body' });

        const wrongTypes = await post({ on: 'yes', reason: 5 });
        expect(wrongTypes.statusCode).toBe(400);
        const body = wrongTypes.json() as { error: string; issues: { path: string; message: string }[] };
        expect(body.error).toMatch(/^invalid body: /);
        expect(body.issues.map((i) => i.path).sort()).toEqual(['on', 'reason']);

        for (const payload of [
          { on: true },
          { on: true, reason: '' },
          { on: true, reason: 'two\nlines' },
          { on: true, reason: 'x'.repeat(501) },
          { on: true, reason: 'ok', actor: 'a'.repeat(101) },
          { on: true, reason: 'ok', jobsEnabled: false },
          [],
        ]) {
          const res = await post(payload);
          expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
          expect(res.json()).toMatchObject({ error: expect.stringMatching(/^invalid body: /), issues: expect.any(Array) });
        }

        const plain = await post('on', { 'content-type': 'text/plain' });
        expect(plain.statusCode).toBe(415);
        expect(plain.json()).toEqual({ error: 'unsupported content type "text/plain": send application/json' });

        const huge = await post(JSON.stringify({ on: true, reason: 'x'.repeat(BODY_LIMIT) }));
        expect(huge.statusCode).toBe(413);
        expect(huge.json()).toEqual({ error: 'the request body is too large' });

        const poisoned = await post('{"on": true, "reason": "p", "__proto__": {"x": 1}}');
        expect(poisoned.statusCode).toBe(400);

        for (const res of [malformed, wrongTypes, plain, huge, poisoned]) expect(res.body).not.toMatch(/\s+at .*\.(ts|js):\d+/);
        expect(await sys.ops.getControls()).toEqual(before);
      });

      it('refuses an unknown job (404 naming the jobs), bad query, body and params; no run starts', async () => {
        const { app, sys } = h();
        const runsBefore = await sys.client.workflow.count();
        const run = (url: string, payload?: unknown) =>
          app.inject({ method: 'POST', url, headers: payload === undefined ? auth : { ...auth, ...json }, ...(payload === undefined ? {} : { payload: payload as object }) });

        const unknown = await run('/v1/jobs/no_such_job/runs');
        expect(unknown.statusCode).toBe(404);
        expect(unknown.json().error).toBe(`unknown job "no_such_job"; jobs: ${JOB_NAMES.join(', ')}`);
        expect((await run(`/v1/jobs/${'j'.repeat(101)}/runs`)).statusCode).toBe(400);

        for (const query of ['wait=maybe', 'dryrun=true', 'timeoutSeconds=601', 'timeoutSeconds=0', 'timeoutSeconds=1.5', 'wait=true&wait=false']) {
          const res = await run(`/v1/jobs/health_monitor/runs?${query}`);
          expect(res.statusCode, query).toBe(400);
          expect(res.json().error, query).toMatch(/^invalid querystring: /);
        }
        for (const payload of [{ params: [] }, { params: 'x' }, { other: 1 }]) {
          const res = await run('/v1/jobs/health_monitor/runs', payload);
          expect(res.statusCode, JSON.stringify(payload)).toBe(400);
          expect(res.json().error).toMatch(/^invalid body: /);
        }
        const badParam = await run('/v1/jobs/health_monitor/runs', { params: { nope: 1 } });
        expect(badParam.statusCode).toBe(400);
        expect(badParam.json()).toEqual({ error: 'unknown param "nope" for health_monitor; health_monitor takes no params' });
        expect(await sys.client.workflow.count()).toEqual(runsBefore);
      });

      it('refuses a bad run id (400) and answers 404 for an unknown one or a workflow that is not a job run', async () => {
        const { app } = h();
        const get = (id: string) => app.inject({ method: 'GET', url: `/v1/runs/${id}`, headers: auth });
        const long = await get('r'.repeat(256));
        expect(long.statusCode).toBe(400);
        expect(long.json().error).toMatch(/^invalid params: id: at most 255 characters/);
        const control = await get('bad%0Aid');
        expect(control.statusCode).toBe(400);
        expect(control.json().error).toMatch(/printable/);
        const missing = await get('no-such-run');
        expect(missing.statusCode).toBe(404);
        expect(missing.json()).toEqual({ error: 'no job run with id "no-such-run"' });
        expect((await get('ops-controls')).statusCode).toBe(404);
      });
    });

    describe('runs', () => {
      it('starts a run, waits for its result and reads it back', async () => {
        const { app, sys } = h();
        const res = await app.inject({ method: 'POST', url: '/v1/jobs/health_monitor/runs?wait=true&timeoutSeconds=60', headers: auth });
        expect(res.statusCode, res.body).toBe(200);
        const run = res.json() as { job: string; workflowId: string; status: string; result: { outcome: string; workflowId: string } };
        expect(run).toMatchObject({ job: 'health_monitor', workflowId: expect.stringMatching(/^health_monitor-manual-/), status: 'completed' });
        expect(run.result).toEqual(await sys.ops.jobResult(run.workflowId));

        const read = await app.inject({ method: 'GET', url: `/v1/runs/${run.workflowId}`, headers: auth });
        expect(read.statusCode).toBe(200);
        expect(read.json()).toEqual(run);
        expect(await startInput(sys, run.workflowId)).toEqual({ trigger: 'manual' });
      });

      it('starts a run without waiting (201) and passes dryRun and params on', async () => {
        const { app, sys } = h();
        const res = await app.inject({ method: 'POST', url: '/v1/jobs/health_monitor/runs?dryRun=true', headers: { ...auth, ...json }, payload: { params: {} } });
        expect(res.statusCode, res.body).toBe(201);
        const { workflowId } = res.json() as { workflowId: string };
        expect(res.json()).toEqual({ job: 'health_monitor', workflowId });
        expect(await startInput(sys, workflowId)).toEqual({ trigger: 'manual', params: {}, dryRun: true });
        await sys.ops.jobResult(workflowId).catch(() => undefined);
      });

      it('answers 202 with the progress when the wait times out, and shows the run running, then terminated', async () => {
        const { sys, deps } = h();
        // A task queue no worker polls: the run stays running for as long as the test needs.
        const config = { ...sys.config, temporal: { ...sys.config.temporal, taskQueue: `${sys.config.temporal.taskQueue}-unpolled` } };
        const app = await buildHttpApp({ ...deps, config, ops: new OpsClient(sys.client, sys.store, config) });
        try {
          const asked = performance.now();
          const res = await app.inject({ method: 'POST', url: '/v1/jobs/health_monitor/runs?wait=true&timeoutSeconds=1', headers: auth });
          expect(performance.now() - asked).toBeLessThan(10_000);
          expect(res.statusCode, res.body).toBe(202);
          const { workflowId } = res.json() as { workflowId: string };
          expect(res.json()).toEqual({ job: 'health_monitor', workflowId, status: 'running', progress: null });

          const running = await app.inject({ method: 'GET', url: `/v1/runs/${workflowId}`, headers: auth });
          expect(running.json()).toEqual({ job: 'health_monitor', workflowId, status: 'running', progress: null });

          await sys.client.workflow.getHandle(workflowId).terminate('http test: done');
          const ended = await app.inject({ method: 'GET', url: `/v1/runs/${workflowId}`, headers: auth });
          expect(ended.statusCode).toBe(200);
          expect(ended.json()).toEqual({ job: 'health_monitor', workflowId, status: 'terminated', error: 'http test: done' });
        } finally {
          await app.close();
        }
      });
    });

    describe('controls', () => {
      it('turns the kill switch on and off, with the reason and who, and shows it in GET /v1/controls', async () => {
        const { app, sys } = h();
        const before = await sys.ops.getControls();
        const on = await app.inject({ method: 'POST', url: '/v1/controls/kill-switch', headers: auth, payload: { on: true, reason: 'http api test' } });
        expect(on.statusCode, on.body).toBe(200);
        expect(on.json()).toMatchObject({ killSwitch: true, version: before.version + 1, updatedBy: 'http-api', reason: 'http api test' });
        const read = await app.inject({ method: 'GET', url: '/v1/controls', headers: auth });
        expect(read.json()).toEqual(await sys.ops.getControls());
        expect(read.json()).toMatchObject({ killSwitch: true, version: before.version + 1 });

        // A refused change leaves it on.
        const refused = await app.inject({ method: 'POST', url: '/v1/controls/kill-switch', headers: auth, payload: { on: false, reason: ' ' } });
        expect(refused.statusCode).toBe(400);
        expect(await sys.ops.getControls()).toMatchObject({ killSwitch: true, version: before.version + 1 });

        const off = await app.inject({ method: 'POST', url: '/v1/controls/kill-switch', headers: auth, payload: { on: false, reason: 'test done', actor: 'jonah' } });
        expect(off.statusCode, off.body).toBe(200);
        expect(off.json()).toMatchObject({ killSwitch: false, version: before.version + 2, updatedBy: 'jonah', reason: 'test done' });
        expect(await sys.ops.getControls()).toMatchObject({ killSwitch: false, version: before.version + 2 });
      });

      // SQLite: another process holds the file's write lock (test/e2e/controls-store-down.test.ts does the same to opsctl).
      if (dialect === 'sqlite') it('with the store locked: kill on is taken (mirror pending), kill off is refused with 503 and changes nothing', async () => {
        const { app, sys } = h();
        const before = await sys.ops.getControls();
        let lock: HeldLock | undefined;
        try {
          lock = await holdSqliteLock(sqlitePath(sys.config), 12_000);
          const on = await app.inject({ method: 'POST', url: '/v1/controls/kill-switch', headers: auth, payload: { on: true, reason: 'store down' } });
          expect(on.statusCode, on.body).toBe(200);
          expect(on.json()).toMatchObject({ killSwitch: true, version: before.version + 1, mirror: 'pending' });

          const off = await app.inject({ method: 'POST', url: '/v1/controls/kill-switch', headers: auth, payload: { on: false, reason: 'too early' } });
          expect(off.statusCode, off.body).toBe(503);
          expect(off.json().error).toMatch(/^the controls were not changed: .*a change that loosens them must reach the store first/);
          expect(await sys.ops.getControls()).toMatchObject({ killSwitch: true, version: before.version + 1 });
        } finally {
          await lock?.release();
        }
        await expect.poll(async () => (await readControls(sys.store.db))?.version, { timeout: 45_000, interval: 250 }).toBe(before.version + 1);
        const off = await app.inject({ method: 'POST', url: '/v1/controls/kill-switch', headers: auth, payload: { on: false, reason: 'store back' } });
        expect(off.statusCode, off.body).toBe(200);
        expect(off.json()).toMatchObject({ killSwitch: false, version: before.version + 2 });
      }, 90_000);
    });
  });
}
