/**
 * Delivers one alert straight to the operator's channel, without the store (see
 * activities/direct-alert.ts). Its workflow id names the alert's kind and window, so the server
 * refuses a second one in the same window; Temporal retries the send.
 */
import { ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import { checkNotificationRequest } from '../notification-request';
import type { Activities, NotificationRequest } from '../activities';
import type { DirectAlertSent } from '../activities/direct-alert';

const { sendDirectAlert } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 10 },
});

export async function directAlert(request: NotificationRequest): Promise<DirectAlertSent> {
  // A hand-started run with a bad input fails at once with the reason, before any send is tried.
  const checked = checkNotificationRequest(request);
  if (!checked.ok) {
    log.warn('directAlert refused its input', { error: checked.error });
    throw ApplicationFailure.nonRetryable(checked.error, 'InvalidNotification');
  }
  return sendDirectAlert(checked.value);
}
