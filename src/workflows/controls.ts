/**
 * ops-controls: the single source of truth of the spec's agent_controls. Query to read, Update to
 * change; every accepted change is persisted (mirror row + audit) and then signalled to every
 * running job before the Update returns.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { applyControlsChange, parseControlsChange, type ControlsState } from '../controls-model';
import {
  controlsChangedSignal,
  getControlsQuery,
  jobEndedSignal,
  jobStartedSignal,
  setControlsUpdate,
  type JobRegistration,
} from '../definitions';
import type { Activities } from '../activities';

export interface OpsControlsInput {
  state: ControlsState;
  registry?: JobRegistration[];
  /** Continue-as-new once the history is this long (small in tests). */
  maxHistoryLength?: number;
}

const { persistControls } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', maximumInterval: '2s' },
});

/** Serializes changes so two concurrent Updates never compute from the same old state. */
class Lock {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

export async function opsControls(input: OpsControlsInput): Promise<void> {
  let state = input.state;
  const registry = new Map<string, JobRegistration>((input.registry ?? []).map((r) => [r.workflowId, r]));
  const lock = new Lock();

  setHandler(getControlsQuery, () => state);

  setHandler(jobStartedSignal, (registration) => {
    registry.set(registration.workflowId, registration);
  });

  setHandler(jobEndedSignal, (workflowId) => {
    registry.delete(workflowId);
  });

  setHandler(
    setControlsUpdate,
    (raw) =>
      lock.run(async () => {
        const change = parseControlsChange(raw);
        const next = applyControlsChange(state, change, new Date().toISOString());
        await persistControls({ state: next, change });
        state = next;
        const targets = [...registry.keys()];
        const delivered = await Promise.allSettled(
          targets.map((id) => getExternalWorkflowHandle(id).signal(controlsChangedSignal, next)),
        );
        delivered.forEach((outcome, i) => {
          // A job that has ended (or was terminated by hand) can no longer be signalled.
          if (outcome.status === 'rejected') registry.delete(targets[i]!);
        });
        log.info('controls changed', {
          version: next.version,
          by: next.updatedBy,
          reason: next.reason,
          signalledJobs: targets.length,
        });
        return state;
      }),
    {
      validator: (raw) => {
        // Reject before the Update enters history: a bad change leaves no trace and no state change.
        applyControlsChange(state, parseControlsChange(raw), '');
      },
    },
  );

  const maxHistory = input.maxHistoryLength ?? 5000;
  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxHistory);
  await condition(allHandlersFinished);
  await continueAsNew<typeof opsControls>({ state, registry: [...registry.values()], maxHistoryLength: input.maxHistoryLength });
}
