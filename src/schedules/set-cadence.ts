/**
 * Changing a job's cadence at run time, for `opsctl schedules set` and an approved set_cadence
 * proposal alike: the one place a run-time override is written to (or cleared from) the Temporal
 * Schedule. See override.ts for what is recorded and how reconcile treats it.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { OWNER, OWNER_MEMO_KEY } from '../definitions';
import type { JobName } from '../jobs';
import { cadenceOfSpec, overrideOf, type CadenceOverride } from './override';
import { DEFINITION_MEMO_KEY, scheduleOptions } from './reconcile';
import { cadenceProblem, resolveSchedules, type Cadence } from './table';

export class CadenceChangeRefused extends Error {
  override readonly name = 'CadenceChangeRefused';
}

/** Who changes the cadence, and why; `proposal` when an approved proposal does. */
export interface CadenceChangeBy {
  actor: string;
  reason: string;
  proposal?: number;
}

export interface CadenceChange {
  job: JobName;
  /** What the schedule ran before (undefined when its spec was not one of ours). */
  before: Cadence | undefined;
  after: Cadence;
  /** The override now recorded; undefined after going back to the configured cadence. */
  override: CadenceOverride | undefined;
}

/**
 * Sets (cadence given) or clears (undefined) the job's run-time cadence on its Temporal Schedule.
 * Its pause and note stay. Validated first: nothing changes on a refusal.
 */
export async function changeScheduleCadence(
  client: Client,
  config: Config,
  job: JobName,
  cadence: Cadence | undefined,
  by: CadenceChangeBy,
  now: Date = new Date(),
): Promise<CadenceChange> {
  if (cadence) {
    const problem = cadenceProblem(cadence);
    if (problem) throw new CadenceChangeRefused(`${job}: ${'every' in cadence ? '--every' : '--at'} ${problem}`);
  }
  const configured = resolveSchedules(config).find((row) => row.job === job);
  if (!configured) throw new CadenceChangeRefused(`unknown job ${job}`);
  const override: CadenceOverride | undefined = cadence
    ? {
        cadence,
        configured: configured.cadence,
        actor: by.actor,
        reason: by.reason,
        at: now.toISOString(),
        ...(by.proposal === undefined ? {} : { proposal: by.proposal }),
      }
    : undefined;
  const options = scheduleOptions({ ...configured, cadence: cadence ?? configured.cadence }, config, override);
  let before: Cadence | undefined;
  try {
    await client.schedule.getHandle(job).update((previous) => {
      if (previous.memo?.[OWNER_MEMO_KEY] !== OWNER) {
        throw new CadenceChangeRefused(`schedule ${job} was not created by personal-ops; its cadence is not changed`);
      }
      // The definition this config gives must be the one the schedule runs (a cadence apart), or
      // writing ours would silently change more than the cadence (a task queue, say).
      const existing = overrideOf(previous);
      const expected = existing ? scheduleOptions({ ...configured, cadence: existing.cadence }, config, existing) : scheduleOptions(configured, config);
      const current = previous.action.type === 'startWorkflow' ? previous.action.memo?.[DEFINITION_MEMO_KEY] : undefined;
      if (current !== (expected.action.memo as Record<string, unknown>)[DEFINITION_MEMO_KEY]) {
        throw new CadenceChangeRefused(
          `${job}: its schedule was set up from another configuration than this one (the config changed since npm start, ` +
            "or this command's OPS_CONFIG and environment differ from npm start's); nothing changed: restart npm start with " +
            'the current config, or run this with the same config',
        );
      }
      before = cadenceOfSpec(previous.spec);
      // A person's pause and its note stay as they are.
      return { spec: options.spec, action: options.action, policies: options.policies, state: previous.state };
    });
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new CadenceChangeRefused(`no schedule ${job}; \`npm start\` creates the schedules`);
    throw err;
  }
  return { job, before, after: cadence ?? configured.cadence, override };
}
