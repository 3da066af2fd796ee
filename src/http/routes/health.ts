/**
 * GET /healthz (the process answers) and GET /readyz (it can do its work: Temporal, the store and
 * the worker). Unauthenticated: they say what is down, never a credential or a stack.
 */
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../deps';
import { safeText } from '../errors';

/** Each readiness check gets this long; a hung dependency is "not ready", not a hung probe. */
export const READY_CHECK_TIMEOUT_MS = 2000;

export interface ReadyCheck {
  ok: boolean;
  error?: string;
}

export interface Readiness {
  status: 'ready' | 'not_ready';
  checks: { temporal: ReadyCheck; store: ReadyCheck; worker: ReadyCheck & { state?: string } };
  failed: string[];
}

async function check(what: () => Promise<unknown>): Promise<ReadyCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READY_CHECK_TIMEOUT_MS} ms`)), READY_CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([what(), timeout]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: safeText((err as Error).message ?? String(err), 300) };
  } finally {
    clearTimeout(timer);
  }
}

export async function readiness(deps: HttpDeps): Promise<Readiness> {
  const { ops, config } = deps;
  const connection = ops.temporal.connection;
  const [temporal, store] = await Promise.all([
    // The namespace, not only the server: a worker polling a missing namespace does nothing.
    // Its own deadline ends the call a little before the check gives up on it: nothing left pending.
    check(() =>
      connection.withDeadline(Date.now() + READY_CHECK_TIMEOUT_MS - 250, () =>
        connection.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
      ),
    ),
    check(() => sql`select 1 as one`.execute(ops.store.db)),
  ]);
  const state = deps.worker?.state();
  const worker: Readiness['checks']['worker'] =
    state === undefined
      ? { ok: false, error: 'no worker runs in this process' }
      : state === 'RUNNING'
        ? { ok: true, state }
        : { ok: false, state, error: `the worker is ${state}, not RUNNING` };
  const checks = { temporal, store, worker };
  const failed = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
  return { status: failed.length === 0 ? 'ready' : 'not_ready', checks, failed };
}

export async function registerHealth(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = await readiness(deps);
    return reply.code(ready.failed.length === 0 ? 200 : 503).send(ready);
  });
}
