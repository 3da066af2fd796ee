/**
 * ops-controls: the single source of truth of the spec's agent_controls. Query to read, Update to
 * change; every accepted change is persisted (mirror row + audit) and then signalled to every
 * running job before the Update returns.
 *
 * Anyone who can reach Temporal can signal it, so no payload is trusted: a malformed signal is
 * dropped with a warning (a handler that threw would fail every workflow task, replaying the bad
 * signal from history, and the kill switch could no longer be changed), and an Update is refused
 * by its validator before it enters history.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyLocalActivities,
  setDefaultSignalHandler,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  applyControlsChange,
  checkControlsState,
  InvalidControlsChange,
  printableName,
  parseControlsChange,
  type ControlsState,
} from '../controls-model';
import {
  controlsChangedSignal,
  getControlsQuery,
  jobEndedSignal,
  jobStartedSignal,
  setControlsUpdate,
  type JobRegistration,
} from '../definitions';
import { JobRegistry } from '../job-registry';
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
  // The input is as untrusted as a signal: anyone may start this workflow by hand.
  const given: Partial<OpsControlsInput> = typeof input === 'object' && input !== null ? input : {};
  const initial = checkControlsState(given.state);
  if (!initial.ok) {
    // Fails this run (visibly), never its workflow task: the next job's signalWithStart starts a good one.
    throw ApplicationFailure.nonRetryable(`ops-controls cannot start: ${initial.error}`, 'InvalidControlsState');
  }
  let state: ControlsState = initial.value;
  const registry = new JobRegistry(given.registry);
  const lock = new Lock();

  setHandler(getControlsQuery, () => state);

  setHandler(jobStartedSignal, (registration: unknown) => {
    const registered = registry.register(registration);
    if (!registered.ok) log.warn('jobStarted signal dropped', { error: registered.error });
    else if (registered.value.evicted !== undefined) {
      log.warn('job registry full: dropped its oldest registration', {
        evicted: registered.value.evicted,
        cap: registry.cap,
      });
    }
  });

  setHandler(jobEndedSignal, (workflowId: unknown) => {
    const unregistered = registry.unregister(workflowId);
    if (!unregistered.ok) log.warn('jobEnded signal dropped', { error: unregistered.error });
  });

  // The SDK would keep signals of unknown names in memory for a handler that never comes.
  setDefaultSignalHandler((name: string) => log.warn('unknown signal dropped', { signal: printableName(name) }));

  setHandler(
    setControlsUpdate,
    (raw) =>
      lock.run(async () => {
        let change: ReturnType<typeof parseControlsChange>;
        let next: ControlsState;
        try {
          change = parseControlsChange(raw);
          next = applyControlsChange(state, change, new Date().toISOString());
        } catch (err) {
          // The validator refuses these first; should one get here, it fails the Update, not the task.
          if (err instanceof InvalidControlsChange) throw ApplicationFailure.nonRetryable(err.message, err.name);
          throw err;
        }
        await persistControls({ state: next, change });
        state = next;
        const targets = registry.ids();
        const delivered = await Promise.allSettled(
          targets.map((id) => getExternalWorkflowHandle(id).signal(controlsChangedSignal, next)),
        );
        delivered.forEach((outcome, i) => {
          // A job that has ended (or was terminated by hand) can no longer be signalled.
          if (outcome.status === 'rejected') registry.unregister(targets[i]!);
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

  const maxHistoryLength = Number.isSafeInteger(given.maxHistoryLength) && given.maxHistoryLength! > 0 ? given.maxHistoryLength : undefined;
  const maxHistory = maxHistoryLength ?? 5000;
  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxHistory);
  await condition(allHandlersFinished);
  await continueAsNew<typeof opsControls>({ state, registry: registry.values(), maxHistoryLength });
}
