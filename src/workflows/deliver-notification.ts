/**
 * Delivers one alert that must go out now (SEV0 call, SEV1 SMS). Started by the activity that
 * raised the incident, with the incident in its workflow id, so it runs once per alert and
 * Temporal retries the send; the router's idempotency key keeps a retry from sending twice.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities, NotificationOutcome, NotificationRequest } from '../activities';

const { routeNotification } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 10 },
});

export async function deliverNotification(request: NotificationRequest): Promise<NotificationOutcome> {
  return routeNotification(request);
}
