/**
 * ops-controls: the single source of truth of the spec's agent_controls. Query to read, Update to
 * change; every accepted change is persisted (mirror row + audit) and then signalled to every
 * running job before the Update returns.
 *
 * The kill switch cannot be wedged by a store outage: a change that only makes the controls
 * stricter (controls-model `loosens`) takes effect even when the store refuses its mirror write.
 * It is applied and signalled at once, the Update returns with `mirror: 'pending'`, and the
 * workflow writes the mirror and the audit row later, retrying with backoff until the store takes
 * them. While the mirror is behind, every job that registers is signalled the current state, so a
 * job that joins during the outage (and reads the older mirror) is stopped all the same.
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
  proxyActivities,
  proxyLocalActivities,
  setDefaultSignalHandler,
  patched,
  setHandler,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import {
  applyControlsChange,
  checkControlsState,
  clip,
  escapeUnprintable,
  InvalidControlsChange,
  loosens,
  tightens,
  printableName,
  parseControlsChange,
  PENDING_CONTROLS_MEMO,
  type ControlsChange,
  type ControlsState,
  type ControlsView,
} from '../controls-model';
import {
  controlsChangedSignal,
  getControlsQuery,
  jobEndedSignal,
  jobsEndedSignal,
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
  /** Changes in effect whose mirror and audit row the store has not taken yet, oldest first. */
  pendingMirror?: MirrorWrite[];
}

/** One accepted change as persistControls writes it: the mirror row and the change's audit row. */
export interface MirrorWrite {
  state: ControlsState;
  change: ControlsChange;
}

/**
 * Pending mirror writes kept at most: beyond it, only a change that alters a control is still
 * taken (there are five ways to tighten, so the list stays bounded); a repeat is refused.
 */
export const MAX_PENDING_MIRROR_WRITES = 100;
/** Backoff of the mirror retries: first wait, cap. Each try itself waits up to 2 s for the store. */
const MIRROR_RETRY_FIRST_MS = 1000;
const MIRROR_RETRY_MAX_MS = 30_000;
const WARNING_MAX_LENGTH = 600;

const { persistControls } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', maximumInterval: '2s' },
});

/**
 * The later tries of a pending mirror write: an ordinary activity, so ops-controls' workflow task
 * is not held for the store wait (a local activity would hold it, and queries, signals and Updates
 * with it). One try each; the workflow's loop decides when to try again.
 */
const { persistControls: persistControlsLater } = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '1m',
  retry: { maximumAttempts: 1 },
});

/** Patched runs answer a persisted change before its signals reach every job (see the Update). */
export const ANSWER_BEFORE_FANOUT_PATCH = 'controls-answer-before-fanout';

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
  /** Fan-outs still delivering after their Update answered (continue-as-new waits for them). */
  let deliveriesInFlight = 0;
  const pending: MirrorWrite[] = checkPendingWrites(given.pendingMirror);
  /** Why the store did not take the oldest pending write, for the operator. */
  let mirrorError: string | undefined = pending.length > 0 ? 'carried over from the previous run' : undefined;

  const view = (): ControlsView =>
    pending.length === 0
      ? state
      : {
          ...state,
          mirror: 'pending',
          warning: clip(
            `The store has not taken this change yet (${mirrorError ?? 'unknown error'}). It is in effect and every running job was told; the mirror and the audit row are written as soon as the store is back.`,
            WARNING_MAX_LENGTH,
          ),
        };

  /**
   * While the mirror is behind, the state in effect is in this run's memo, where a joining job
   * looks (joinControls); removed once the store has it. No command at all while the mirror is
   * written in time.
   */
  let published = false;
  const publish = (): void => {
    if (pending.length > 0) {
      upsertMemo({ [PENDING_CONTROLS_MEMO]: state });
      published = true;
    } else if (published) {
      upsertMemo({ [PENDING_CONTROLS_MEMO]: undefined });
      published = false;
    }
  };
  // A run continued as new with writes pending: its memo says so from the start.
  if (pending.length > 0) publish();
  else if (given.pendingMirror !== undefined) upsertMemo({ [PENDING_CONTROLS_MEMO]: undefined });

  /** Tries each pending write in order, once; false when the store refused one (it stays pending). */
  const flush = async (): Promise<boolean> => {
    while (pending.length > 0) {
      try {
        await persistControlsLater(pending[0]!);
      } catch (err) {
        mirrorError = failureMessage(err);
        log.warn('controls mirror still not written', { version: pending[0]!.state.version, pending: pending.length, error: mirrorError });
        return false;
      }
      log.info('controls mirror written after a store outage', { version: pending[0]!.state.version });
      pending.shift();
    }
    mirrorError = undefined;
    publish();
    return true;
  };

  setHandler(getControlsQuery, view);

  setHandler(jobStartedSignal, (registration: unknown) => {
    const registered = registry.register(registration);
    if (!registered.ok) {
      log.warn('jobStarted signal dropped', { error: registered.error });
      return;
    }
    if (registered.value.evicted !== undefined) {
      log.warn('job registry full: dropped its oldest registration', {
        evicted: registered.value.evicted,
        cap: registry.cap,
      });
    }
    // A job reads the store mirror when it joins; while that is behind (and so looser), tell it the
    // state in effect. Only then: in the ordinary case a registration costs no command at all.
    if (pending.length > 0) {
      const id = (registration as { workflowId: string }).workflowId;
      getExternalWorkflowHandle(id)
        .signal(controlsChangedSignal, state)
        .catch(() => registry.unregister(id));
    }
  });

  setHandler(jobEndedSignal, (workflowId: unknown) => {
    const unregistered = registry.unregister(workflowId);
    if (!unregistered.ok) log.warn('jobEnded signal dropped', { error: unregistered.error });
  });

  setHandler(jobsEndedSignal, (workflowIds: unknown) => {
    const unregistered = registry.unregisterAll(workflowIds);
    if (!unregistered.ok) log.warn('jobsEnded signal dropped', { error: unregistered.error });
    else if (unregistered.value.invalid > 0) log.warn('jobsEnded signal: invalid ids skipped', { invalid: unregistered.value.invalid });
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
        const write: MirrorWrite = { state: next, change };
        if (loosens(state, next)) {
          // A looser change reaches the store first, as before. Jobs read the mirror (joinControls,
          // the activity boundary's kill-switch check): one that reads an older, stricter mirror
          // stops when it need not, which is safe; one that read an older, looser mirror would run
          // when it must not. So during an outage a loosening change is refused.
          // With writes already waiting, refuse at once: flushing them here would hold the lock, and a
          // kill on queued behind this Update, for as long as the store takes them.
          let refusal: string | undefined = pending.length > 0 ? mirrorError ?? 'the store has not taken earlier changes yet' : undefined;
          if (refusal === undefined) await persistControls(write).catch((err: unknown) => (refusal = failureMessage(err)));
          if (refusal !== undefined) {
            throw ApplicationFailure.nonRetryable(
              `${refusal.replace(/\.$/, '')}. The controls were NOT changed: a change that loosens them must reach the store first; ` +
                'try again once the store is back (kill on, and any change that only makes the controls stricter, works now).',
              'database',
            );
          }
        } else if (pending.length > 0) {
          // The store is known to be behind: no wait for it; the retry loop writes this after the others.
          // Past the cap only a change that tightens some control is taken: there are five, so the
          // list stays bounded whatever is sent.
          if (pending.length >= MAX_PENDING_MIRROR_WRITES && !tightens(state, next)) {
            throw ApplicationFailure.nonRetryable(
              `The controls were NOT changed: ${pending.length} changes already wait for the store, and this one tightens no control.`,
              'database',
            );
          }
          pending.push(write);
        } else {
          try {
            await persistControls(write);
          } catch (err) {
            // Runs recorded before this path existed failed the Update here: replay them unchanged.
            if (!patched('controls-mirror-pending')) throw err;
            // Stricter, so it takes effect now; the mirror follows (the loop below retries it).
            mirrorError = failureMessage(err);
            log.warn('controls changed before the store took them: mirror write pending', { version: next.version, error: mirrorError });
            pending.push(write);
          }
        }
        state = next;
        publish();
        const targets = registry.ids();
        const delivery = Promise.allSettled(targets.map((id) => getExternalWorkflowHandle(id).signal(controlsChangedSignal, next))).then(
          (delivered) =>
            delivered.forEach((outcome, i) => {
              // A job that has ended (or was terminated by hand) can no longer be signalled.
              if (outcome.status === 'rejected') registry.unregister(targets[i]!);
            }),
        );
        // Once the mirror holds the change, no job starts another activity (each one's boundary
        // reads the mirror first): the Update answers then, and the signals that stop the jobs'
        // running activities go on after it. While the mirror is behind, the signals are all that
        // stops a job, so the answer waits for them.
        if (pending.length === 0 && patched(ANSWER_BEFORE_FANOUT_PATCH)) {
          deliveriesInFlight += 1;
          void delivery.finally(() => (deliveriesInFlight -= 1));
        } else {
          await delivery;
        }
        log.info('controls changed', {
          version: next.version,
          by: next.updatedBy,
          reason: next.reason,
          signalledJobs: targets.length,
          mirrorPending: pending.length > 0 ? pending.length : undefined,
        });
        return view();
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
  const historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxHistory;
  // The mirror retries live here, not in the Update handler, so the Update returns at once. A write
  // is pending because a try just failed: wait first (a try at once would hold up the workflow
  // task that carries the Update's answer for one more store wait).
  for (let failures = 1; ; ) {
    await condition(() => pending.length > 0 || historyFull());
    if (historyFull()) break;
    await sleep(Math.min(MIRROR_RETRY_MAX_MS, MIRROR_RETRY_FIRST_MS * 2 ** Math.min(failures - 1, 10)));
    failures = (await flush()) ? 1 : failures + 1;
  }
  await condition(() => allHandlersFinished() && deliveriesInFlight === 0);
  await continueAsNew<typeof opsControls>({
    state,
    registry: registry.values(),
    maxHistoryLength,
    // Only when there is one, so a continue-as-new without an outage carries what it always did.
    ...(pending.length > 0 ? { pendingMirror: [...pending] } : {}),
  });
}

/** Pending writes carried across continue-as-new, checked like any input; bad ones are dropped. */
function checkPendingWrites(input: unknown): MirrorWrite[] {
  if (!Array.isArray(input)) return [];
  const writes: MirrorWrite[] = [];
  for (const entry of input.slice(-MAX_PENDING_MIRROR_WRITES - 10)) {
    const given = typeof entry === 'object' && entry !== null ? (entry as Partial<MirrorWrite>) : {};
    const state = checkControlsState(given.state);
    try {
      if (!state.ok) throw new InvalidControlsChange(state.error);
      writes.push({ state: state.value, change: parseControlsChange(given.change) });
    } catch (err) {
      log.warn('pending controls mirror write dropped', { error: err instanceof Error ? clip(err.message, 300) : 'invalid' });
    }
  }
  return writes;
}

/**
 * What went wrong, in the store's own words, as one printable line: the message of the first
 * ApplicationFailure in the chain (persistControls' "Store unavailable: ..."), else the innermost.
 */
function failureMessage(err: unknown): string {
  let e = err as { message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && !(e instanceof ApplicationFailure) && e.cause && depth < 5; depth++) e = e.cause as typeof e;
  return clip(escapeUnprintable(String(e?.message ?? err)), WARNING_MAX_LENGTH);
}
