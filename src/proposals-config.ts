/**
 * periodic_scan's detection and proposals ("1. Periodic Scan" steps 3-4). Defaults are the spec's
 * values; config.ts mounts this at `proposals`.
 */
import { z } from 'zod';

const confidence = z.coerce.number().min(0).max(1);
const hours = z.coerce.number().int().min(1).max(24 * 90);

export const proposalsConfigSchema = z
  .strictObject({
    /** detect_patterns reads this far back. */
    lookbackHours: hours.default(24),
    /** Patterns under this confidence are dropped. */
    minConfidence: confidence.default(0.6),
    /** Patterns at or over this confidence become proposals. */
    proposeAtConfidence: confidence.default(0.7),
    /** The spec's "max 10 proposals per hour", enforced in the store. */
    perHour: z.coerce.number().int().min(1).max(1000).default(10),
    /** A (kind, subject) rejected this recently is not proposed again. */
    coolDownHours: hours.default(7 * 24),
    /** A proposal not decided within this expires. */
    expiresAfterHours: hours.default(72),
  })
  .refine((c) => c.proposeAtConfidence >= c.minConfidence, {
    message: 'proposeAtConfidence must be at least minConfidence',
    path: ['proposeAtConfidence'],
  });

export type ProposalsConfig = z.infer<typeof proposalsConfigSchema>;
