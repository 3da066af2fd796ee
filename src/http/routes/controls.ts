/** GET /v1/controls and POST /v1/controls/kill-switch: what `opsctl status` shows and `opsctl kill` does. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { controlsSchemas } from '../../controls-model';
import type { HttpDeps } from '../deps';

/** Who a change is recorded as when the caller does not say. */
export const DEFAULT_HTTP_ACTOR = 'http-api';

// The controls' own actor and reason rules (printable, one line, length-capped).
const killSwitchBody = z.strictObject({
  on: z.boolean(),
  reason: controlsSchemas().controlsChange.shape.reason,
  actor: controlsSchemas().controlsChange.shape.actor.optional(),
});

export async function registerControls(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get('/v1/controls', async () => deps.ops.getControls());
  typed.post('/v1/controls/kill-switch', { schema: { body: killSwitchBody } }, async (request) => {
    const { on, reason, actor } = request.body;
    return deps.ops.setKillSwitch(on, { actor: actor ?? DEFAULT_HTTP_ACTOR, reason });
  });
}
