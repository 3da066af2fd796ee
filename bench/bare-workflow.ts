/** The baselines of the benches: bare Temporal, no wrapper, no store. */
import {
  CancellationScope,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';

export interface BareActivities {
  bareNoopActivity(): Promise<void>;
  /** Heartbeats until cancelled. */
  bareBlockActivity(): Promise<void>;
}

const { bareNoopActivity } = proxyActivities<BareActivities>({ startToCloseTimeout: '10s' });
const { bareBlockActivity } = proxyActivities<BareActivities>({ startToCloseTimeout: '2m', heartbeatTimeout: '2s' });

/** bench:throughput: one workflow calling one no-op activity. */
export async function bareNoopWorkflow(): Promise<void> {
  await bareNoopActivity();
}

export const bareStopSignal = defineSignal('bareStop');

/** bench:kill-switch: blocked in an activity until a signal cancels it, as a job is until the kill switch. */
export async function bareBlockedWorkflow(): Promise<string> {
  const scope = new CancellationScope();
  setHandler(bareStopSignal, () => scope.cancel());
  try {
    await scope.run(() => bareBlockActivity());
    return 'finished';
  } catch (err) {
    if (isCancellation(err)) return 'stopped';
    throw err;
  }
}

/** bench:kill-switch: signals every one of `ids`, as ops-controls fans a change out to the jobs. */
export async function bareFanOutWorkflow(ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => getExternalWorkflowHandle(id).signal(bareStopSignal)));
}
