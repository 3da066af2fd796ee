/**
 * The shape of a request to deliver one alert, checked inside the deliverNotification workflow
 * before anything is scheduled. Pure (zod only). Anyone who can reach Temporal can start that
 * workflow, so its input is checked like any outside input: wrong types are refused with a
 * message naming the field; long text is clipped, not refused, so a real alert with a long
 * error in its body still goes out; unknown keys are dropped. The router checks it again.
 */
import { z } from 'zod';
import { clip, describeIssues, type Checked } from './controls-model';
import { once } from './once';
import type { Severity } from './store/schema';

const SEVERITIES = ['SEV0', 'SEV1', 'WARN', 'INFO'] as const satisfies readonly Severity[];
/** A message that must go out now is read on a phone: far longer than this is never useful. */
export const NOTIFICATION_TITLE_MAX_LENGTH = 1_000;
export const NOTIFICATION_BODY_MAX_LENGTH = 20_000;
const KEY_MAX_LENGTH = 1_000;
const META_MAX_JSON_LENGTH = 10_000;

/** Built on first use (see once.ts). */
export const notificationRequestSchema = once(() => {
  const key = (what: string) => z.string().trim().min(1, `expected ${what}`).max(KEY_MAX_LENGTH, `at most ${KEY_MAX_LENGTH} characters`);
  return z.object({
    idempotencyKey: key('an idempotency key'),
    severity: z.enum(SEVERITIES),
    type: key('an alert type'),
    title: z
      .string()
      .trim()
      .min(1, 'expected a title')
      .transform((t) => clip(t, NOTIFICATION_TITLE_MAX_LENGTH)),
    body: z.string().transform((t) => clip(t, NOTIFICATION_BODY_MAX_LENGTH)),
    requiresApproval: z.boolean().optional(),
    meta: z
      .record(z.string(), z.unknown())
      .refine((m) => JSON.stringify(m).length <= META_MAX_JSON_LENGTH, `at most ${META_MAX_JSON_LENGTH} characters as JSON`)
      .optional(),
    deliver: z.enum(['call', 'text']).optional(),
    workflowId: key('a workflow id').optional(),
    incidentId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  });
});

export type CheckedNotificationRequest = z.infer<ReturnType<typeof notificationRequestSchema>>;

export function checkNotificationRequest(input: unknown): Checked<CheckedNotificationRequest> {
  const parsed = notificationRequestSchema().safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: `Invalid notification: ${describeIssues(parsed.error.issues)}` };
}
