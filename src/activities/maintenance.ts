import { Context } from '@temporalio/activity';
import { archiveOldData, claimDueDeadLetters } from '../store';
import type { JobInput } from '../definitions';
import { isJobName, type JobName } from '../jobs';
import type { ActivityDeps } from './deps';

export interface DueDeadLetter {
  id: number;
  job: JobName;
  workflowType: string;
  input: JobInput;
  replayAttempts: number;
}

export function createMaintenanceActivities(deps: ActivityDeps) {
  const { store, config, now } = deps;
  return {
    /** Archives (never deletes) what the retention policy says is old. */
    async archiveOldData(): Promise<{ audit: number; deadLetters: number; incidents: number }> {
      return archiveOldData(store.db, { now: now(), ...config.retention });
    },

    /**
     * Claims due transient dead letters for the retry queue. A claim is a lease: a letter whose
     * replay never reports back becomes due again when the lease ends.
     */
    async claimDueDeadLetters(): Promise<DueDeadLetter[]> {
      const rows = await claimDueDeadLetters(store.db, {
        category: 'transient',
        limit: config.limits.retryQueueBatch,
        maxAttempts: config.limits.retryQueueMaxAttempts,
        now: now(),
        leaseMs: config.limits.activityTimeoutMs * 2,
      });
      Context.current().log.info('claimed dead letters', { count: rows.length });
      return rows
        .filter((row) => isJobName(row.job))
        .map((row) => ({
          id: row.id,
          job: row.job as JobName,
          workflowType: row.workflow_type,
          input: JSON.parse(row.input) as JobInput,
          replayAttempts: row.replay_attempts,
        }));
    },
  };
}
