/**
 * The way to the operator that needs no store: when the store cannot take an alert (it is down,
 * locked, unreachable), the alert goes straight to the operator's channel as SEV1. The store-backed
 * router keys every message in the store; here Temporal does the deduplication instead: one
 * `directAlert` workflow per alert kind per window, its id derived from the window, and a second
 * start in the same window is refused by the server.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { sql } from 'kysely';
import { configSecrets } from '../config';
import { CONTROLS_WORKFLOW_ID, getControlsQuery, type JobResult } from '../definitions';
import { ValidationError } from '../errors';
import { checkNotificationRequest } from '../notification-request';
import { redact } from '../notifications/redact';
import { CHANNELS_FOR_ROUTE, gate, routeOf } from '../notifications/routing';
import { reportIncident, withStoreWaitLimit, writeTransaction, type Channel } from '../store';
import { CONSOLE_RECIPIENT, maskAddress, providerChannels, type Channels } from './channels';
import type { ActivityDeps } from './deps';
import type { NotificationRequest } from './notify';

export const DIRECT_ALERT_WORKFLOW = 'directAlert';

export interface DirectAlert {
  /** What it is about: at most one direct alert of a kind per window reaches the operator. */
  kind: string;
  title: string;
  body: string;
  /** The run that raised it. */
  workflowId?: string;
  /**
   * Record it as an incident of type `kind` once the store is back, so that it is listed and its
   * resolver resolves it. Absent when something else records it (a failed run's recordRun).
   */
  incident?: { subject: string; job?: string };
}

/** The directAlert workflow's input: the SEV1 message, and the incident to record afterwards. */
export interface DirectAlertInput {
  request: NotificationRequest;
  incident?: { subject: string; job?: string };
}

export interface DirectAlertStarted {
  /** False: one of this kind went out in this window already (the server refused a second). */
  started: boolean;
  workflowId: string;
}

export type DirectAlertSent =
  | { status: 'sent'; channel: Channel; recipient: string; providerId: string }
  | { status: 'suppressed'; reason: string };

/** How long a workflow waits for ops-controls' answer before sending without it. */
const CONTROLS_QUERY_DEADLINE_MS = 3000;
/** How long the failure path waits for the store before deciding it cannot take the alert. */
const STORE_PROBE_WAIT_MS = 2000;

/** `direct-alert-<kind>-<window start>`: the window is config.limits.healthAlertEveryMinutes long. */
export function directAlertWorkflowId(kind: string, at: Date, windowMinutes: number): string {
  const windowMs = windowMinutes * 60_000;
  const start = new Date(Math.floor(at.getTime() / windowMs) * windowMs);
  return `direct-alert-${kind}-${start.toISOString().slice(0, 16)}Z`;
}

/** `work`, or an error naming `what` once `ms` have passed (the work is left to finish or fail). */
export async function within<T>(ms: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the alert's delivery workflow, unless one of its kind was started in this window. */
export async function startDirectAlert(deps: Pick<ActivityDeps, 'client' | 'config' | 'now' | 'logger'>, alert: DirectAlert): Promise<DirectAlertStarted> {
  if (!/^[a-z0-9_:.-]{1,100}$/i.test(alert.kind)) throw new ValidationError(`a direct alert's kind must be 1 to 100 letters, digits or _:.-, got ${JSON.stringify(alert.kind)}`);
  const workflowId = directAlertWorkflowId(alert.kind, deps.now(), deps.config.limits.healthAlertEveryMinutes);
  const request: NotificationRequest = {
    idempotencyKey: workflowId,
    severity: 'SEV1',
    type: alert.kind,
    title: alert.title,
    body: alert.body,
    workflowId: alert.workflowId,
  };
  const input: DirectAlertInput = { request, ...(alert.incident ? { incident: alert.incident } : {}) };
  try {
    await deps.client.workflow.start(DIRECT_ALERT_WORKFLOW, {
      workflowId,
      taskQueue: deps.config.temporal.taskQueue,
      args: [input],
      // Neither a running nor a finished delivery of this window may be joined or repeated.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { started: false, workflowId };
    throw err;
  }
  deps.logger.warn({ workflowId, kind: alert.kind }, 'alert sent directly to the operator: the store cannot take it');
  return { started: true, workflowId };
}

export function createDirectAlertActivities(deps: ActivityDeps, channels: Channels) {
  const { client, config, store, now, logger } = deps;

  /** The controls as ops-controls holds them (no store involved); undefined when it cannot say. */
  async function liveControls() {
    try {
      return await client.connection.withDeadline(Date.now() + CONTROLS_QUERY_DEADLINE_MS, () =>
        client.workflow.getHandle(CONTROLS_WORKFLOW_ID).query(getControlsQuery),
      );
    } catch (err) {
      logger.warn({ error: (err as Error).message }, 'direct alert: ops-controls did not answer; sending under the configured controls');
      return undefined;
    }
  }

  /**
   * The operator's configured addresses, the route's channels first, then any other provider.
   * No allowlist lookup (it lives in the store): these are the operator's own addresses from config.
   */
  function candidates(route: keyof typeof CHANNELS_FOR_ROUTE): { channel: Channel; recipient: string }[] {
    const configured = providerChannels(channels);
    if (configured.length === 0) return [{ channel: 'console', recipient: CONSOLE_RECIPIENT }];
    const ordered = [...CHANNELS_FOR_ROUTE[route].filter((c) => configured.includes(c)), ...configured.filter((c) => !CHANNELS_FOR_ROUTE[route].includes(c))];
    return ordered.flatMap((channel) => {
      const recipient = channels[channel]?.defaultRecipient;
      return recipient ? [{ channel, recipient }] : [];
    });
  }

  return {
    /** Sends one direct alert through the first channel that takes it; throws (and is retried) when none does. */
    async sendDirectAlert(input: NotificationRequest): Promise<DirectAlertSent> {
      const checked = checkNotificationRequest(input);
      if (!checked.ok) throw new ValidationError(checked.error);
      const request = checked.value;
      const controls = (await liveControls()) ?? config.controls;
      const stop = gate(request, controls, now());
      if (stop) {
        logger.warn({ key: request.idempotencyKey, reason: stop.reason }, 'direct alert not sent');
        return { status: 'suppressed', reason: stop.reason };
      }
      const route = routeOf(request);
      const ways = candidates(route === 'digest' ? 'sms' : route);
      if (ways.length === 0) throw new ValidationError('direct alert: no configured channel has the operator as its recipient');
      const text = redact(`[${request.severity}] ${request.title}\n${request.body}`.trim(), configSecrets(config));
      const failures: string[] = [];
      for (const { channel, recipient } of ways) {
        try {
          const providerId = await channels[channel]!.send(recipient, text);
          logger.warn({ key: request.idempotencyKey, channel }, 'direct alert sent');
          return { status: 'sent', channel, recipient: maskAddress(recipient), providerId };
        } catch (err) {
          failures.push(`${channel}: ${(err as Error).message}`);
        }
      }
      throw new Error(`direct alert: every channel failed (${failures.join('; ')})`);
    },

    /**
     * Records a direct alert as its incident once the store takes writes again (the workflow
     * retries this until it does). Never routed: the operator has had it already.
     */
    async recordDirectAlert(args: { input: DirectAlertInput; sent: DirectAlertSent }): Promise<{ incidentId: number }> {
      const { input, sent } = args;
      const checked = checkNotificationRequest(input?.request);
      if (!checked.ok) throw new ValidationError(checked.error);
      const subject = input.incident?.subject;
      if (typeof subject !== 'string' || subject.trim() === '') throw new ValidationError('recordDirectAlert: incident.subject must be a non-empty string');
      const request = checked.value;
      const how = sent.status === 'sent' ? `Sent directly by ${sent.channel} to ${sent.recipient}` : `Not sent: ${sent.reason}`;
      const raised = await reportIncident(store.db, {
        type: request.type,
        subject,
        severity: request.severity,
        title: request.title,
        body: `${request.body}\n${how}, while the store could not take it (${request.idempotencyKey}).`,
        job: input.incident?.job,
        relatedWorkflowId: request.workflowId,
        now: now(),
      });
      return { incidentId: raised.id };
    },

    /**
     * A job run that failed reaches the operator at once even when the store cannot record it:
     * with a store that takes writes, recordRun raises the alert; without one, it goes directly.
     */
    async alertRunFailedDirect(args: { result: JobResult }): Promise<{ path: 'store' } | ({ path: 'direct' } & DirectAlertStarted)> {
      const { result } = args;
      try {
        await within(STORE_PROBE_WAIT_MS + 1000, 'store', () =>
          withStoreWaitLimit(STORE_PROBE_WAIT_MS, () => writeTransaction(store.db, (tx) => sql`select 1`.execute(tx))),
        );
        return { path: 'store' };
      } catch (err) {
        const started = await startDirectAlert(deps, {
          kind: `job_failed.${result.job}`,
          title: `${result.job} failed (the store cannot record it)`,
          body: `${result.category ?? 'internal'} error: ${result.error ?? ''}\nThe store did not answer: ${(err as Error).message}`,
          workflowId: result.workflowId,
        });
        return { path: 'direct', ...started };
      }
    },
  };
}

export type DirectAlertActivities = ReturnType<typeof createDirectAlertActivities>;

/** None of them may wait for the store at the activity boundary: the store is why they run. */
const DIRECT_ALERT_ACTIVITIES: Record<keyof DirectAlertActivities, true> = {
  sendDirectAlert: true,
  recordDirectAlert: true,
  alertRunFailedDirect: true,
};
export const DIRECT_ALERT_ACTIVITY_NAMES: ReadonlySet<string> = new Set(Object.keys(DIRECT_ALERT_ACTIVITIES));
