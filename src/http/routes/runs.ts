/** GET /v1/runs/:id: a job run's result once it ended, else its status and progress. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hasUnprintable } from '../../controls-model';
import type { HttpDeps } from '../deps';
import { HttpError, safeText } from '../errors';
import { readRun } from './run-view';

export const RUN_ID_MAX_LENGTH = 255;

export const runIdSchema = z
  .string()
  .min(1, 'say which run')
  .max(RUN_ID_MAX_LENGTH, `at most ${RUN_ID_MAX_LENGTH} characters`)
  .refine((id) => !hasUnprintable(id), 'one line of printable text (no control characters)');

export async function registerRuns(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/runs/:id',
    { schema: { params: z.strictObject({ id: runIdSchema }) } },
    async (request) => {
      const run = await readRun(deps.ops, request.params.id);
      if (!run) throw new HttpError(404, `no job run with id "${safeText(request.params.id, 255)}"`);
      return run;
    },
  );
}
