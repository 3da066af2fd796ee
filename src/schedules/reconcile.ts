/**
 * Makes the Temporal Schedules match the table: creates missing ones, updates changed ones
 * (keeping a person's pause), removes ones this project owns that the table no longer has.
 * A run-time cadence override (override.ts) is kept while the config still says the cadence it
 * overrode, and dropped, logged, once the config says another: a person's config edit wins.
 * Running it twice changes nothing.
 */
import { createHash } from 'node:crypto';
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import type { Config } from '../config';
import { JOB_SEARCH_ATTRIBUTE, OWNER, OWNER_MEMO_KEY, type JobInput } from '../definitions';
import type { Logger } from '../logger';
import { OVERRIDE_MEMO_KEY, overrideOf, type CadenceOverride } from './override';
import { durationMs, resolveSchedules, sameCadence, validateSchedules, type ResolvedSchedule } from './table';

/** Action memo key holding a fingerprint of the definition, so "changed" is a string compare. */
export const DEFINITION_MEMO_KEY = 'opsScheduleDefinition';

export interface ReconcileReport {
  created: string[];
  updated: string[];
  removed: string[];
  unchanged: string[];
  /** Jobs running a run-time override that the config still allows (in updated or unchanged too). */
  overridesKept: string[];
  /** Jobs whose override the config replaced (in updated too). */
  overridesDropped: string[];
}

/** `override` (when the row's cadence is one) is recorded in the action memo, beside the fingerprint. */
export function scheduleOptions(row: ResolvedSchedule, config: Config, override?: CadenceOverride): ScheduleOptions {
  const spec: ScheduleOptions['spec'] =
    'every' in row.cadence
      ? { intervals: [{ every: durationMs(row.cadence.every) }] }
      : {
          calendars: [
            {
              hour: Number(row.cadence.at.slice(0, 2)),
              minute: Number(row.cadence.at.slice(3, 5)),
              comment: `daily at ${row.cadence.at}`,
            },
          ],
          timezone: row.timezone,
        };
  // Missed runs are made up only while they are still useful: one interval, or an hour for dailies.
  const catchupWindow = 'every' in row.cadence ? Math.max(10_000, durationMs(row.cadence.every)) : 3_600_000;
  const args: [JobInput] = [{ trigger: 'schedule' }];
  const definition = {
    spec,
    workflowType: row.job,
    taskQueue: config.temporal.taskQueue,
    args,
    overlap: ScheduleOverlapPolicy.SKIP,
    catchupWindow,
  };
  const fingerprint = createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 16);
  return {
    scheduleId: row.job,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: row.job,
      workflowId: row.job,
      taskQueue: config.temporal.taskQueue,
      args,
      typedSearchAttributes: [{ key: JOB_SEARCH_ATTRIBUTE, value: row.job }],
      memo: { [DEFINITION_MEMO_KEY]: fingerprint, ...(override ? { [OVERRIDE_MEMO_KEY]: override } : {}) },
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow },
    memo: { [OWNER_MEMO_KEY]: OWNER },
  };
}

export async function reconcileSchedules(client: Client, config: Config, logger: Logger): Promise<ReconcileReport> {
  const report: ReconcileReport = { created: [], updated: [], removed: [], unchanged: [], overridesKept: [], overridesDropped: [] };
  const rows = resolveSchedules(config);
  // All or nothing: one bad row found halfway would leave some schedules changed and others not.
  validateSchedules(rows);
  const wanted = new Set<string>(rows.map((row) => row.job));

  for (const row of rows) {
    let options = scheduleOptions(row, config);
    const handle = client.schedule.getHandle(options.scheduleId);
    let current;
    try {
      current = await handle.describe();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      await client.schedule.create(options);
      report.created.push(options.scheduleId);
      continue;
    }
    if (current.memo?.[OWNER_MEMO_KEY] !== OWNER) {
      throw new Error(
        `Schedule ${options.scheduleId} exists but was not created by personal-ops; rename or delete it (temporal schedule delete --schedule-id ${options.scheduleId})`,
      );
    }
    const override = overrideOf(current);
    let dropped = false;
    if (override && sameCadence(override.configured, row.cadence)) {
      options = scheduleOptions({ ...row, cadence: override.cadence }, config, override);
      report.overridesKept.push(row.job);
    } else if (override) {
      dropped = true;
      report.overridesDropped.push(row.job);
      logger.warn(
        { job: row.job, override, configured: row.cadence },
        `the config changed ${row.job}'s cadence since ${override.actor} set it at run time: the config wins, the override is dropped`,
      );
    }
    const wantedFingerprint = (options.action.memo as Record<string, unknown>)[DEFINITION_MEMO_KEY];
    const currentFingerprint = current.action.type === 'startWorkflow' ? current.action.memo?.[DEFINITION_MEMO_KEY] : undefined;
    // A dropped override goes even when the new config happens to say the overriding cadence.
    if (currentFingerprint === wantedFingerprint && !dropped) {
      report.unchanged.push(options.scheduleId);
      continue;
    }
    await handle.update((previous): ScheduleUpdateOptions => ({
      spec: options.spec,
      action: options.action,
      policies: options.policies,
      // A person's pause (temporal schedule toggle --pause, opsctl schedules pause) survives.
      state: previous.state,
    }));
    report.updated.push(options.scheduleId);
  }

  for await (const summary of client.schedule.list()) {
    if (summary.memo?.[OWNER_MEMO_KEY] !== OWNER || wanted.has(summary.scheduleId)) continue;
    await client.schedule.getHandle(summary.scheduleId).delete();
    report.removed.push(summary.scheduleId);
  }

  logger.info(
    {
      created: report.created,
      updated: report.updated,
      removed: report.removed,
      unchanged: report.unchanged.length,
      overridesKept: report.overridesKept,
      overridesDropped: report.overridesDropped,
    },
    'schedules reconciled',
  );
  return report;
}
