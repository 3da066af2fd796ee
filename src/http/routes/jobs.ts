/**
 * POST /v1/jobs/:job/runs: starts a job as `opsctl run` does. ?wait=true waits for its result
 * (at most timeoutSeconds; then 202 with the run's progress), ?dryRun=true asks for a dry run.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { JobInput } from '../../definitions';
import { isJobName, JOB_NAMES } from '../../jobs';
import type { HttpDeps } from '../deps';
import { HttpError, safeText } from '../errors';
import { readRun, runProgress } from './run-view';

export const WAIT_DEFAULT_SECONDS = 60;
export const WAIT_MAX_SECONDS = 600;

const JOB_NAME_MAX_LENGTH = 100;
const queryFlag = z.stringbool({ truthy: ['true', '1'], falsy: ['false', '0'] });

// Strict: a misspelt ?dryrun=true must be refused, not start a real run.
const runQuery = z.strictObject({
  wait: queryFlag.default(false),
  dryRun: queryFlag.default(false),
  timeoutSeconds: z.coerce.number().int().min(1).max(WAIT_MAX_SECONDS).default(WAIT_DEFAULT_SECONDS),
});

const runBody = z
  .strictObject({
    // startJob checks each param against what the job declares (job-params.ts).
    params: z.record(z.string(), z.unknown()).optional(),
  })
  // No body at all: undefined through inject, null through a real socket.
  .nullish();

export async function registerJobs(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  const { ops } = deps;
  // Waits still open when the server closes end at once (answered 202) instead of holding the shutdown.
  const waits = new Set<AbortController>();
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    for (const wait of waits) wait.abort();
  });

  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/jobs/:job/runs',
    {
      schema: {
        params: z.strictObject({ job: z.string().min(1).max(JOB_NAME_MAX_LENGTH, `at most ${JOB_NAME_MAX_LENGTH} characters`) }),
        querystring: runQuery,
        body: runBody,
      },
    },
    async (request, reply) => {
      const { job } = request.params;
      if (!isJobName(job)) throw new HttpError(404, `unknown job "${safeText(job, JOB_NAME_MAX_LENGTH)}"; jobs: ${JOB_NAMES.join(', ')}`);
      const { wait, dryRun, timeoutSeconds } = request.query;
      const input: JobInput = {
        ...(request.body?.params !== undefined ? { params: request.body.params } : {}),
        ...(dryRun ? { dryRun: true } : {}),
      };
      const started = await ops.startJob(job, input);
      if (!wait) return reply.code(201).send(started);

      const waiting = new AbortController();
      waits.add(waiting);
      const timer = setTimeout(() => waiting.abort(), timeoutSeconds * 1000);
      const clientGone = (): void => {
        if (!reply.raw.writableFinished) waiting.abort();
      };
      reply.raw.once('close', clientGone);
      try {
        // Any end (a result, a failure without one) is read back below; only the abort matters here.
        await ops.temporal.connection.withAbortSignal(waiting.signal, () => ops.jobResult(started.workflowId)).catch(() => undefined);
        if (!waiting.signal.aborted) {
          const run = await readRun(ops, started.workflowId);
          if (run && run.status !== 'running') return reply.code(200).send(run);
        }
        // At shutdown the connection must not stay open for another request: the server waits for it.
        if (closing) reply.header('connection', 'close');
        return reply.code(202).send({ ...started, status: 'running', progress: await runProgress(ops, started.workflowId) });
      } finally {
        clearTimeout(timer);
        waits.delete(waiting);
        reply.raw.off('close', clientGone);
      }
    },
  );
}
