/**
 * Spec jobs 1 (its sync step), 4, 5 and 6: the data syncs. Each sync job syncs one source;
 * periodic_scan syncs all four in parallel, and one failing source does not stop the others.
 */
import { SKIP_REASONS, type JobInput, type JobResult } from '../definitions';
import type { JobName } from '../jobs';
import { SOURCE_NAMES, type SourceName } from '../sources';
import { describeFailure, runJob } from './job-runner';
import { isControlsStop, syncSource, type SourceOutcome, type SyncCounts } from './sync-source';

function syncJob(job: JobName, source: SourceName) {
  return (input: JobInput = {}): Promise<JobResult> =>
    runJob(job, input, async (ctx) => {
      const result = await syncSource(ctx, source, (counts) => ctx.progress(`syncing ${source}`, { ...counts }));
      if (result.outcome === 'skipped') ctx.skip(result.reason);
      return { ...result };
    });
}

export const sync_notion = syncJob('sync_notion', 'notion');
export const sync_n8n = syncJob('sync_n8n', 'n8n');
export const sync_hubspot = syncJob('sync_hubspot', 'hubspot');

/** Steps of the spec's periodic scan that later issues build; named in the output, never hidden. */
const LATER_STEPS = ['detect_patterns', 'generate_proposals', 'update_incidents'];

/**
 * Syncs every configured source in parallel. A source that fails is reported (and alerts on its
 * own); the scan fails only when every configured source failed.
 */
export async function periodic_scan(input: JobInput = {}): Promise<JobResult> {
  return runJob('periodic_scan', input, async (ctx) => {
    const counts: Partial<Record<SourceName, SyncCounts>> = {};
    const settled = await Promise.allSettled(
      SOURCE_NAMES.map(async (source): Promise<SourceOutcome> => {
        try {
          return await syncSource(ctx, source, (c) => {
            counts[source] = c;
            ctx.progress('syncing sources', { ...counts });
          });
        } catch (err) {
          if (isControlsStop(err)) throw err;
          const failure = describeFailure(err);
          return { source, outcome: 'failed', error: failure.message, category: failure.category, pages: 0, items: 0, ...counts[source] };
        }
      }),
    );
    const stopped = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (stopped) throw stopped.reason;
    const sources = settled.map((s) => (s as PromiseFulfilledResult<SourceOutcome>).value);
    const configured = sources.filter((s) => !(s.outcome === 'skipped' && s.reason === SKIP_REASONS.notConfigured));
    if (configured.length === 0) ctx.skip(SKIP_REASONS.notConfigured);
    const failed = configured.filter((s) => s.outcome === 'failed');
    if (failed.length === configured.length) {
      throw new Error(`every configured source failed: ${failed.map((s) => `${s.source}: ${s.outcome === 'failed' ? s.error : ''}`).join('; ')}`);
    }
    return { sources, laterSteps: { notBuiltYet: LATER_STEPS } };
  });
}
