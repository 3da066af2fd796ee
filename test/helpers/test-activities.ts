import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';

/** A fault script: fail `times` times with `error()`, then return 'ok'. */
export interface Fault {
  times: number;
  error: () => Error;
}

/** Activities a test drives from outside, with a record of every call. */
export function createTestActivities() {
  const calls: { name: string; arg?: string; at: number; attempt: number; workflowId?: string }[] = [];
  const faults = new Map<string, Fault>();
  const attemptsByFault = new Map<string, number[]>();
  // Each openGate() releases the activities waiting then, and only those: a later test's job
  // blocks again, whatever ran before it (tests must not depend on each other's order).
  let gateOpenings = 0;
  let gateWaiters: (() => void)[] = [];
  const arrivals: (() => void)[] = [];
  const cancelled: string[] = [];

  const record = (name: string, arg?: string): void => {
    const info = Context.current().info;
    calls.push({ name, arg, at: Date.now(), attempt: info.attempt, workflowId: info.workflowExecution?.workflowId });
  };

  const activities = {
    async step(name: string): Promise<string> {
      record('step', name);
      return name;
    },
    async waitAtGate(): Promise<void> {
      record('waitAtGate');
      // One arrival answers one reachedGate() (the oldest): awaiting N of them awaits N arrivals.
      arrivals.shift()?.();
      const ctx = Context.current();
      const openingsAtArrival = gateOpenings;
      while (gateOpenings === openingsAtArrival) {
        ctx.heartbeat();
        const opened = new Promise<void>((resolve) => gateWaiters.push(resolve));
        try {
          await Promise.race([opened, ctx.sleep(200)]);
        } catch (err) {
          if (err instanceof CancelledFailure) cancelled.push(ctx.info.workflowExecution?.workflowId ?? '');
          throw err;
        }
      }
    },
    async faulty(key: string): Promise<string> {
      record('faulty', key);
      const attempts = attemptsByFault.get(key) ?? [];
      attempts.push(Date.now());
      attemptsByFault.set(key, attempts);
      const fault = faults.get(key);
      if (fault && attempts.length <= fault.times) throw fault.error();
      return 'ok';
    },
  };

  return {
    activities,
    calls,
    faults,
    cancelled,
    attempts: (key: string): number[] => attemptsByFault.get(key) ?? [],
    /** Resolves when one more activity reaches the gate (each call waits for an arrival of its own). */
    reachedGate: (): Promise<void> => new Promise((resolve) => arrivals.push(resolve)),
    /** Releases every activity waiting at the gate now; later arrivals wait for the next call. */
    openGate(): void {
      gateOpenings += 1;
      gateWaiters.forEach((fn) => fn());
      gateWaiters = [];
    },
    stepCalls: (workflowId: string): string[] =>
      calls.filter((c) => c.name === 'step' && c.workflowId === workflowId).map((c) => c.arg ?? ''),
  };
}

export type TestActivities = ReturnType<typeof createTestActivities>['activities'];
