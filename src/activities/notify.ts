/**
 * The alert router: every notification (an alert, the digest, the morning call) is stored under
 * its idempotency key, gated by the controls, routed by severity to an allowlisted recipient,
 * and each attempt and its outcome recorded. Asking again with the same key never sends again.
 */
import { activityInfo } from '@temporalio/activity';
import { z } from 'zod';
import { describeIssues } from '../controls-model';
import { ValidationError } from '../errors';
import { configSecrets } from '../config';
import { initialControls } from '../controls-initial';
import { CHANNELS_FOR_ROUTE, gate, routeOf } from '../notifications/routing';
import { redact } from '../notifications/redact';
import {
  INCIDENT_SEVERITIES,
  beginSend,
  countApiCall,
  finishSend,
  insertAudit,
  isAllowlisted,
  openNotification,
  recordDecision,
  SETTLED_STATUSES,
  type Channel,
  type NewIncident,
  type NotificationContent,
  type NotificationRow,
  type NotificationStatus,
} from '../store';
import { CONSOLE_RECIPIENT, createChannels, maskAddress, providerChannels, type Channels } from './channels';
import type { ActivityDeps } from './deps';
import { rethrowCounted } from './watchers/api-usage';

export interface NotificationRequest extends NotificationContent {
  /** The workflow id and step that asks: the same key never sends twice. */
  idempotencyKey: string;
  /** A scheduled message's own way: the digest is a text, the morning call a call. */
  deliver?: 'call' | 'text';
  workflowId?: string;
  incidentId?: number;
}

export interface NotificationOutcome {
  id: number;
  key: string;
  status: NotificationStatus;
  reason: string | null;
  channel: Channel | null;
  /** Masked: a phone number shows its last four digits. */
  recipient: string | null;
  providerId: string | null;
  /** False when the key had already been settled by an earlier call. */
  sentNow: boolean;
}

const requestSchema = z.object({
  idempotencyKey: z.string().trim().min(1),
  severity: z.enum(INCIDENT_SEVERITIES),
  type: z.string().trim().min(1),
  title: z.string().trim().min(1),
  body: z.string(),
  requiresApproval: z.boolean().optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
  deliver: z.enum(['call', 'text']).optional(),
  workflowId: z.string().optional(),
  incidentId: z.number().int().positive().optional(),
});

/** A request from outside our own code (e.g. a hand-started deliverNotification) is checked first. */
function checkRequest(request: unknown): NotificationRequest {
  const parsed = requestSchema.safeParse(request);
  if (!parsed.success) throw new ValidationError(`Invalid notification: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

export const DELIVER_NOTIFICATION_WORKFLOW = 'deliverNotification';

/**
 * Activities that go through the router: under the kill switch they store the notification as
 * suppressed (with the reason) instead of failing at the activity boundary.
 */
export const ROUTED_ACTIVITY_NAMES = new Set(['routeNotification', 'sendDigest', 'placeMorningCall', 'sendCallFallback']);

export function createNotifier(deps: ActivityDeps, channels: Channels = createChannels(deps.config, deps.logger)) {
  const { store, config, now, logger } = deps;
  const db = store.db;

  const outcomeOf = (row: NotificationRow, sentNow = false): NotificationOutcome => ({
    id: row.id,
    key: row.idempotency_key,
    status: row.status,
    reason: row.status_reason,
    channel: row.channel,
    recipient: row.recipient ? maskAddress(row.recipient) : null,
    providerId: row.provider_id,
    sentNow,
  });

  /**
   * The first configured channel of the route with an allowlisted recipient. The console only
   * when no provider is configured at all: with one, a message it cannot carry is refused, not
   * logged and counted as sent.
   */
  async function pickChannel(route: 'call' | 'sms' | 'text'): Promise<{ channel: Channel; recipient: string } | { refused: string }> {
    const configured = providerChannels(channels);
    if (configured.length === 0) return { channel: 'console', recipient: CONSOLE_RECIPIENT };
    const candidates = CHANNELS_FOR_ROUTE[route].filter((c) => configured.includes(c));
    if (candidates.length === 0) {
      return { refused: `no configured channel carries a ${route} (${route} needs one of ${CHANNELS_FOR_ROUTE[route].join(', ')}; configured: ${configured.join(', ')})` };
    }
    const tried: string[] = [];
    for (const channel of candidates) {
      const sender = channels[channel]!;
      const recipient = sender.defaultRecipient;
      if (!recipient) {
        tried.push(`${channel}: no recipient configured`);
        continue;
      }
      if (sender.addressKind && (await isAllowlisted(db, sender.addressKind, recipient))) return { channel, recipient };
      tried.push(`${channel}: ${maskAddress(recipient)} is not on the allowlist`);
    }
    return { refused: `no allowlisted recipient (${tried.join('; ')})` };
  }

  function messageText(request: NotificationRequest): string {
    const text = request.deliver ? request.body : `[${request.severity}] ${request.title}\n${request.body}`.trim();
    // A message goes to allowlisted addresses, so they may appear; credentials never.
    return redact(text, configSecrets(config));
  }

  return {
    /**
     * No provider is configured: every message goes to the console (the log), which no person
     * is sure to read, so what the digest carries must not count as delivered by it.
     */
    consoleOnly(): boolean {
      return providerChannels(channels).length === 0;
    },

    async route(input: NotificationRequest, activityAttempt?: number): Promise<NotificationOutcome> {
      const request = checkRequest(input);
      const route = routeOf(request);
      const row = await openNotification(db, { ...request, route, now: now() });
      if (SETTLED_STATUSES.includes(row.status)) return outcomeOf(row);
      const attempt = { workflowId: request.workflowId, activityAttempt, now: now() };

      const stop = gate(request, await initialControls(config, store, now()), now());
      if (stop) return outcomeOf(await recordDecision(db, row.id, { status: stop.stop, reason: stop.reason, ...attempt }));

      const picked = await pickChannel(route as 'call' | 'sms' | 'text');
      if ('refused' in picked) {
        const refused = await recordDecision(db, row.id, { status: 'refused', reason: picked.refused, ...attempt });
        await insertAudit(db, {
          ts: attempt.now.toISOString(),
          action: 'notification.refused',
          action_type: 'comms',
          success: 0,
          outcome: null,
          error: picked.refused,
          duration_ms: null,
          input_data: JSON.stringify({ key: request.idempotencyKey, severity: request.severity, type: request.type }),
          output_data: null,
          workflow_id: request.workflowId ?? null,
          actor: 'router',
          reason: picked.refused,
        });
        logger.warn({ key: request.idempotencyKey, reason: picked.refused }, 'notification refused');
        return outcomeOf(refused);
      }

      const begun = await beginSend(db, row.id, { ...picked, ...attempt });
      if (!begun.proceed) return outcomeOf(begun.row);
      const sender = channels[picked.channel]!;
      const text = messageText(request);
      try {
        const providerId = await sender.send(picked.recipient, text).catch(rethrowCounted(db, sender.service, now));
        return outcomeOf(await finishSend(db, row.id, begun.attemptId, { outcome: 'sent', providerId, now: now() }), true);
      } catch (err) {
        await finishSend(db, row.id, begun.attemptId, { outcome: 'failed', error: (err as Error).message, now: now() });
        throw err;
      } finally {
        if (sender.service) await countApiCall(db, sender.service, now()).catch(() => undefined);
      }
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;

/**
 * An incident reaches the operator through the router. What waits for the digest is recorded
 * at once; what must go out now is handed to a delivery workflow (one per incident, by its
 * id), so Temporal retries the send and a raised alert is never lost with the process.
 */
export async function alertFor(deps: ActivityDeps, notifier: Notifier, incidentId: number, incident: NewIncident): Promise<void> {
  const request: NotificationRequest = {
    idempotencyKey: `incident:${incidentId}`,
    severity: incident.severity,
    type: incident.type,
    title: incident.title,
    body: incident.body,
    workflowId: incident.relatedWorkflowId,
    incidentId,
    meta: { job: incident.job ?? null },
  };
  if (routeOf(request) === 'digest') {
    await notifier.route(request);
    return;
  }
  await deps.client.workflow.start(DELIVER_NOTIFICATION_WORKFLOW, {
    workflowId: `notify-incident-${incidentId}`,
    taskQueue: deps.config.temporal.taskQueue,
    args: [request],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}

export function createNotifyActivities(notifier: Notifier) {
  return {
    /** The router as an activity: a workflow's notification, or a delivery workflow's alert. */
    async routeNotification(request: NotificationRequest): Promise<NotificationOutcome> {
      return notifier.route(request, activityInfo().attempt);
    },
  };
}
