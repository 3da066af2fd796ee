/**
 * Spec jobs 1 (its sync step), 4, 5 and 6: the data syncs. Each sync job syncs one source;
 * periodic_scan syncs all four in parallel, and one failing source does not stop the others.
 */
import { patched } from '@temporalio/workflow';
import { SKIP_REASONS, type JobInput, type JobResult } from '../definitions';
import type { JobName } from '../jobs';
import { SOURCE_NAMES, type SourceName } from '../sources';
import { JobBodyFailed } from './job-failure';
import type { GenerateResult, PatternsDetected } from '../activities/proposals';
import type { IncidentsUpdated } from '../activities/resolvers';
import { describeFailure, runJob, type JobContext } from './job-runner';
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

/** Before steps 3 and 4 existed, their output said so (recorded runs replay with it). */
const LATER_STEPS = ['detect_patterns', 'generate_proposals'];
/** Before step 5 existed (recorded runs replay with it). */
const LATER_STEPS_BEFORE_UPDATE = [...LATER_STEPS, 'update_incidents'];
export const UPDATE_INCIDENTS_PATCH = 'periodic-scan-update-incidents';
export const PROPOSALS_PATCH = 'periodic-scan-proposals';

/**
 * Syncs every configured source in parallel; one failing source does not stop the others, and
 * what they synced stays. The scan ends failed when any configured source failed (a skip is not
 * a failure), naming each failed source and its category, with every source's result as output.
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
    // Steps 3 and 4 over what the syncs brought (and what was there: a source that failed or is
    // not configured leaves its older rows). Runs recorded before them replay without.
    const proposals = patched(PROPOSALS_PATCH) ? await detectAndPropose(ctx) : undefined;
    // Step 5, after the syncs whose success clears incidents; also when sources failed or none is
    // configured (dead letters, health and calls clear too). Runs recorded before it replay without.
    const incidents = patched(UPDATE_INCIDENTS_PATCH) ? await updateIncidents(ctx) : undefined;
    const configured = sources.filter((s) => !(s.outcome === 'skipped' && s.reason === SKIP_REASONS.notConfigured));
    // With no source configured there is nothing new to detect in: the scan is a skip, as before.
    if (configured.length === 0) ctx.skip(SKIP_REASONS.notConfigured);
    const output = proposals
      ? { sources, ...proposals, incidents }
      : incidents
        ? { sources, incidents, laterSteps: { notBuiltYet: LATER_STEPS } }
        : { sources, laterSteps: { notBuiltYet: LATER_STEPS_BEFORE_UPDATE } };
    const failed = configured.filter((s) => s.outcome === 'failed');
    if (failed.length === 0) return output;
    // Runs recorded before this patch ended `succeeded` when only some sources failed; replaying
    // them must end the same way (a failed run would be a different command), so only runs that
    // reach this point with the new code fail. Asked only when some but not all sources failed:
    // that is the one case the two versions decide differently.
    if (failed.length < configured.length && !patched('periodic-scan-partial-failure')) return output;
    throw new JobBodyFailed(describeScanFailure(failed, configured.length), SCAN_FAILURE_CATEGORY, output);
  });
}

/** What steps 3 and 4 did, for the scan's output: counts, never the patterns themselves. */
export interface ScanProposals {
  patterns: Omit<PatternsDetected, 'patterns'> | { error: string };
  proposals: Omit<Extract<GenerateResult, { expired: number }>, 'created'> & { created: number; ids: number[] } | { skipped: string } | { error: string };
}

/**
 * periodic_scan's steps 3 (detect_patterns, reads only) and 4 (generate_proposals, writes). Like
 * step 5, a step's failure is named in the output and does not fail the scan; a controls stop
 * (kill switch, jobs disabled: the guard before each activity) still stops it. Writes off skips
 * step 4 only, named in the output: detection wrote nothing, and step 5 still runs.
 */
async function detectAndPropose(ctx: JobContext): Promise<ScanProposals> {
  let detected: PatternsDetected;
  try {
    ctx.progress('detect_patterns');
    detected = await ctx.act.detectPatterns();
  } catch (err) {
    if (isControlsStop(err)) throw err;
    const error = describeFailure(err).message;
    return { patterns: { error }, proposals: { error: `not run: detect_patterns failed (${error})` } };
  }
  const { patterns, ...found } = detected;
  if (!ctx.controls().writeEnabled) return { patterns: found, proposals: { skipped: SKIP_REASONS.writesDisabled } };
  try {
    ctx.progress('generate_proposals', { patterns: patterns.length });
    const made = await ctx.act.generateProposals({ patterns });
    if ('skipped' in made) return { patterns: found, proposals: made };
    const { created, ...counts } = made;
    return { patterns: found, proposals: { ...counts, created: created.length, ids: created.map((c) => c.id) } };
  } catch (err) {
    if (isControlsStop(err)) throw err;
    return { patterns: found, proposals: { error: describeFailure(err).message } };
  }
}

/**
 * periodic_scan's step 5. Its failure (after the activity's retries) is named in the output and
 * does not fail the scan: the syncs' outcome is the scan's, and the next scan tries again. A
 * controls stop still stops the scan.
 */
async function updateIncidents(ctx: JobContext): Promise<IncidentsUpdated | { error: string }> {
  try {
    return await ctx.act.updateIncidents();
  } catch (err) {
    if (isControlsStop(err)) throw err;
    return { error: describeFailure(err).message };
  }
}

/**
 * A failed scan's own category. Each source already raised its own alerts (auth at once, a streak
 * after 3 in a row), so the scan's must not repeat them (auth would), and the spec says a failed
 * scan is not retried, the next run is the retry (transient would be replayed by
 * process_retry_queue). The sources are external APIs: external_api.
 */
const SCAN_FAILURE_CATEGORY = 'external_api';

/** One API error message can be long; the run's error names every source within a bounded size. */
const MAX_SOURCE_ERROR_CHARS = 300;

type FailedSource = Extract<SourceOutcome, { outcome: 'failed' }>;

function describeScanFailure(failed: FailedSource[], configured: number): string {
  const each = failed.map((s) => {
    const error = s.error.length > MAX_SOURCE_ERROR_CHARS ? `${s.error.slice(0, MAX_SOURCE_ERROR_CHARS)}...` : s.error;
    return `${s.source} (${s.category}): ${error}`;
  });
  return `${failed.length} of ${configured} sources failed: ${each.join('; ')}`;
}
