/**
 * Delivers one alert straight to the operator's channel, without the store (see
 * activities/direct-alert.ts). Its workflow id names the alert's kind and window, so the server
 * refuses a second one in the same window; Temporal retries the send. Then, when asked, it records
 * the alert as an incident, waiting for the store as long as the store is down.
 */
import { ApplicationFailure, log, proxyActivities, sleep } from '@temporalio/workflow';
import { checkNotificationRequest } from '../notification-request';
import type { Activities } from '../activities';
import type { DirectAlertInput, DirectAlertSent } from '../activities/direct-alert';

const { sendDirectAlert } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 10 },
});
const { recordDirectAlert } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 1 },
});

/** Waits between tries to record: 2 s doubling to 10 min, for about a day in all. */
const RECORD_FIRST_WAIT_MS = 2000;
const RECORD_MAX_WAIT_MS = 10 * 60_000;
const RECORD_TRIES = 160;

export async function directAlert(input: DirectAlertInput): Promise<DirectAlertSent & { incidentId?: number }> {
  // A hand-started run with a bad input fails at once with the reason, before any send is tried.
  const checked = checkNotificationRequest(input?.request);
  if (!checked.ok) refuse(checked.error);
  const subject: unknown = input.incident?.subject;
  if (subject !== undefined && (typeof subject !== 'string' || subject.trim() === '' || subject.length > 300)) {
    refuse('Invalid direct alert: incident.subject must be a non-empty string of at most 300 characters');
  }
  const request = checked.value;
  const sent = await sendDirectAlert(request);
  if (!input.incident) return sent;
  // The store is down (that is why this alert came this way): its record waits for it, in workflow timers.
  let wait = RECORD_FIRST_WAIT_MS;
  for (let tried = 1; ; tried++) {
    try {
      const { incidentId } = await recordDirectAlert({ input: { request, incident: input.incident }, sent });
      return { ...sent, incidentId };
    } catch (err) {
      if (tried >= RECORD_TRIES) {
        log.error('direct alert not recorded: the store did not come back', { error: err instanceof Error ? err.message : String(err) });
        return sent;
      }
    }
    await sleep(wait);
    wait = Math.min(wait * 2, RECORD_MAX_WAIT_MS);
  }
}

function refuse(error: string): never {
  log.warn('directAlert refused its input', { error });
  throw ApplicationFailure.nonRetryable(error, 'InvalidNotification');
}
