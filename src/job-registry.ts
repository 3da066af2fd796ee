/**
 * ops-controls' list of running jobs, the targets of its controls fan-out. Pure, so the workflow
 * and its tests share it. Registrations arrive by signal from anyone who can reach Temporal, so
 * each is checked and the list has a cap.
 *
 * Policy when full: the oldest registration is dropped to make room (a re-registration counts as
 * new). Real jobs end within minutes and a fan-out also drops every job it can no longer signal,
 * so the oldest entry is the one most likely to be stale. A job dropped while still running keeps
 * two lines of defence: it read the controls from the store when it joined, and the activity
 * boundary re-reads the store's kill switch before each of its activities.
 */
import { z } from 'zod';
import { describeIssues, type Checked } from './controls-model';
import type { JobRegistration } from './definitions';
import { JOB_NAMES } from './jobs';
import { once } from './once';

/** Far above the jobs that run at once (ten job types, a few runs each); bounds state and fan-out. */
export const MAX_REGISTERED_JOBS = 500;
/** The most ids one jobsEnded signal may carry (at most about 100 KB). */
export const MAX_ENDED_PER_SIGNAL = 100;
/** Temporal's own default limit on a workflow id's length. */
export const WORKFLOW_ID_MAX_LENGTH = 1000;

/** Built on first use (see once.ts). */
const schemas = once(() => {
  const workflowId = z
    .string()
    .min(1, 'expected a workflow id')
    .max(WORKFLOW_ID_MAX_LENGTH, `at most ${WORKFLOW_ID_MAX_LENGTH} characters`);
  return { workflowId, jobRegistration: z.strictObject({ workflowId, job: z.enum(JOB_NAMES) }) };
});

export function checkJobRegistration(input: unknown): Checked<JobRegistration> {
  const parsed = schemas().jobRegistration.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: `Invalid job registration: ${describeIssues(parsed.error.issues)}` };
}

export function checkWorkflowId(input: unknown): Checked<string> {
  const parsed = schemas().workflowId.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: `Invalid workflow id: ${describeIssues(parsed.error.issues)}` };
}

export class JobRegistry {
  /** Insertion order is age: the first key is the oldest registration. */
  private readonly byId = new Map<string, JobRegistration>();

  /** Starts from a carried-over list; entries that do not check out are skipped, the newest kept. */
  constructor(
    initial: unknown = [],
    readonly cap: number = MAX_REGISTERED_JOBS,
  ) {
    const entries = Array.isArray(initial) ? initial : [];
    for (const entry of entries.slice(-cap)) {
      const checked = checkJobRegistration(entry);
      if (checked.ok) this.add(checked.value);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  values(): JobRegistration[] {
    return [...this.byId.values()];
  }

  /** Registers a job; says which registration was dropped to stay under the cap, if any. */
  register(input: unknown): Checked<{ evicted?: string }> {
    const checked = checkJobRegistration(input);
    if (!checked.ok) return checked;
    return { ok: true, value: this.add(checked.value) };
  }

  /** Unregisters a jobsEnded list: refused whole if it is not a list or longer than the cap; bad ids in it are skipped and counted. */
  unregisterAll(input: unknown): Checked<{ removed: number; invalid: number }> {
    if (!Array.isArray(input)) return { ok: false, error: 'Invalid ended-jobs list: expected an array of workflow ids' };
    if (input.length > MAX_ENDED_PER_SIGNAL) return { ok: false, error: `Invalid ended-jobs list: ${input.length} ids, at most ${MAX_ENDED_PER_SIGNAL}` };
    let removed = 0;
    let invalid = 0;
    for (const id of input) {
      const one = this.unregister(id);
      if (!one.ok) invalid += 1;
      else if (one.value.removed) removed += 1;
    }
    return { ok: true, value: { removed, invalid } };
  }

  unregister(input: unknown): Checked<{ removed: boolean }> {
    const checked = checkWorkflowId(input);
    if (!checked.ok) return checked;
    return { ok: true, value: { removed: this.byId.delete(checked.value) } };
  }

  private add(registration: JobRegistration): { evicted?: string } {
    this.byId.delete(registration.workflowId);
    let evicted: string | undefined;
    if (this.byId.size >= this.cap) {
      evicted = this.byId.keys().next().value;
      if (evicted !== undefined) this.byId.delete(evicted);
    }
    this.byId.set(registration.workflowId, registration);
    return evicted === undefined ? {} : { evicted };
  }
}
