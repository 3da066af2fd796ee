/**
 * Delivers one alert that must go out now (SEV0 call, SEV1 SMS). Started by the activity that
 * raised the incident, with the incident in its workflow id, so it runs once per alert and
 * Temporal retries the send; the router's idempotency key keeps a retry from sending twice.
 */
import { ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import { checkNotificationRequest } from '../notification-request';
import type { Activities, NotificationOutcome, NotificationRequest } from '../activities';

const { routeNotification } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 10 },
});

export async function deliverNotification(request: NotificationRequest): Promise<NotificationOutcome> {
  // A hand-started run with a bad input fails at once with the reason, before any send is tried.
  const checked = checkNotificationRequest(request);
  if (!checked.ok) {
    log.warn('deliverNotification refused its input', { error: checked.error });
    throw ApplicationFailure.nonRetryable(checked.error, 'InvalidNotification');
  }
  return routeNotification(checked.value);
}
