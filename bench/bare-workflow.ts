/** The baseline of bench:throughput: bare Temporal, one workflow calling one no-op activity. */
import { proxyActivities } from '@temporalio/workflow';

const { bareNoopActivity } = proxyActivities<{ bareNoopActivity(): Promise<void> }>({ startToCloseTimeout: '10s' });

export async function bareNoopWorkflow(): Promise<void> {
  await bareNoopActivity();
}
