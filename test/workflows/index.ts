/**
 * The workflow module tests run: every production workflow plus small jobs built on the same
 * wrapper whose activities the test controls (a gate to block on, steps to count, faults).
 */
import type { JobInput, JobResult } from '../../src/definitions';
import { runJob } from '../../src/workflows/job-runner';
import type { TestActivities } from '../helpers/test-activities';

export * from '../../src/workflows';

/** Step 1, then an activity that blocks (heartbeating) until released, then step 2. */
export async function gatedJob(input: JobInput = {}): Promise<JobResult> {
  return runJob('periodic_scan', input, async (ctx) => {
    const steps = ctx.proxy<TestActivities>({ startToCloseTimeout: '2m' });
    const blocking = ctx.proxy<TestActivities>({ startToCloseTimeout: '2m', heartbeatTimeout: '2s' });
    await steps.step('one');
    await blocking.waitAtGate();
    await steps.step('two');
    return { steps: 2 };
  });
}

/** N steps in a row. */
export async function stepsJob(input: JobInput = {}): Promise<JobResult> {
  return runJob('sync_n8n', input, async (ctx) => {
    const steps = ctx.proxy<TestActivities>();
    const count = Number(input.params?.count ?? 3);
    for (let i = 1; i <= count; i++) await steps.step(`step-${i}`);
    return { steps: count };
  });
}

/** One activity that fails as the test arranged (see test-activities `faulty`). */
export async function faultyJob(input: JobInput = {}): Promise<JobResult> {
  return runJob('sync_hubspot', input, async (ctx) => {
    const acts = ctx.proxy<TestActivities>();
    const value = await acts.faulty(String(input.params?.fault ?? 'none'));
    return { value };
  });
}

/** The wrapper and nothing else: the cost of the framework itself (bench). */
export async function noopJob(input: JobInput = {}): Promise<JobResult> {
  return runJob('periodic_scan', input, async () => ({ noop: true }));
}
