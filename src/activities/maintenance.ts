import { Context } from '@temporalio/activity';
import { archiveOldData, claimDueDeadLetters } from '../store';
import { releaseDeadLetters } from '../store/dead-letters';
import type { JobInput } from '../definitions';
import { isJobName, type JobName } from '../jobs';
import type { ErrorCategory } from '../policies';
import type { ActivityDeps } from './deps';

export interface DueDeadLetter {
  id: number;
  job: JobName;
  workflowType: string;
  input: JobInput;
  replayAttempts: number;
}

/** The spec's error table: transient errors and external API errors are retried with backoff. */
export const REPLAYED_CATEGORIES: readonly ErrorCategory[] = ['transient', 'external_api'];

/**
 * Jobs the spec says not to retry, "the next run will handle it": a failed periodic_scan is
 * external_api (its sources failed) but is left to its next run, not replayed.
 */
export const NEXT_RUN_IS_THE_RETRY: readonly JobName[] = ['periodic_scan'];

export function createMaintenanceActivities(deps: ActivityDeps) {
  const { store, config, now } = deps;
  return {
    /** Archives (never deletes) what the retention policy says is old. */
    async archiveOldData(): Promise<{ audit: number; deadLetters: number; incidents: number }> {
      return archiveOldData(store.db, { now: now(), ...config.retention });
    },

    /**
     * Claims due dead letters of the retried categories for the retry queue. A claim is a lease:
     * a letter whose replay never reports back becomes due again when the lease ends.
     */
    async claimDueDeadLetters(): Promise<DueDeadLetter[]> {
      const rows = await claimDueDeadLetters(store.db, {
        category: REPLAYED_CATEGORIES,
        excludeJobs: NEXT_RUN_IS_THE_RETRY,
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

    /**
     * Gives back, untouched, the claimed letters a stopped retry queue did not replay (kill
     * switch, jobs disabled), so they are due again when it runs next instead of after the lease.
     */
    async releaseDeadLetters(ids: number[]): Promise<number> {
      const checked = ids.filter((id) => Number.isSafeInteger(id) && id > 0).slice(0, 1000);
      return releaseDeadLetters(store.db, checked);
    },
  };
}
