/**
 * Syncing one data source inside a job: claim it, then one activity per page on the source's
 * rate-limited task queue until the cursor is exhausted, and release it if the run stops early.
 */
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { SKIP_REASONS } from '../definitions';
import { sourceTaskQueue, type SourceName } from '../sources';
import { noteDryRun } from './dry-run';
import { JobSkipped } from './guard';
import { describeFailure, framework, type JobContext } from './job-runner';

export interface SyncCounts {
  pages: number;
  items: number;
}

export type SourceOutcome =
  | ({ source: SourceName; outcome: 'succeeded'; more: boolean } & SyncCounts)
  | { source: SourceName; outcome: 'skipped'; reason: string; missing?: string }
  | ({ source: SourceName; outcome: 'failed'; error: string; category: string } & SyncCounts);

/**
 * Runs the source's sync to the end of its cursor (or the page budget). A failure or a stop is
 * rethrown after the source is released with its cursor kept, so the next run resumes there.
 */
export async function syncSource(
  ctx: JobContext,
  source: SourceName,
  onProgress: (counts: SyncCounts) => void,
): Promise<SourceOutcome> {
  const holder = ctx.workflowId;
  const begin = await ctx.act.beginSourceSync({ source, holder });
  if (begin.status === 'not_configured') {
    return { source, outcome: 'skipped', reason: SKIP_REASONS.notConfigured, missing: begin.missing };
  }
  if (begin.status === 'busy') return { source, outcome: 'skipped', reason: `already syncing in ${begin.holder}` };
  if (begin.status === 'recent') return { source, outcome: 'skipped', reason: begin.reason };

  const { syncSourcePage } = ctx.proxy<Activities>({
    taskQueue: sourceTaskQueue(ctx.settings.taskQueue, source),
    startToCloseTimeout: ctx.settings.sync.pageTimeoutMs,
  });
  let counts: SyncCounts = { pages: begin.pages, items: begin.items };
  // When the run's page requests went out: the next page paces itself by them (an endpoint limit).
  let sentAtMs: number[] | undefined;
  onProgress(counts);
  try {
    for (let page = 0; page < ctx.settings.sync.maxPagesPerRun; page++) {
      const progress = await syncSourcePage({ source, holder, ...(sentAtMs ? { sentAtMs } : {}) });
      sentAtMs = progress.sentAtMs;
      counts = { pages: progress.pages, items: progress.items };
      onProgress(counts);
      if (progress.done) return { source, outcome: 'succeeded', more: false, ...counts };
      // Each page of a dry run starts from the stored cursor (its commit is rolled back), and a
      // later request could confirm what the store never took (Telegram's offset): one page only.
      if (ctx.input.dryRun === true) {
        noteDryRun(`${source}: previewed the first page only; the real run reads every page`);
        await framework.endSourceSync({ source, holder, outcome: 'paused' });
        return { source, outcome: 'succeeded', more: true, ...counts };
      }
    }
    await framework.endSourceSync({ source, holder, outcome: 'paused' });
    return { source, outcome: 'succeeded', more: true, ...counts };
  } catch (err) {
    const stopped = isControlsStop(err);
    const failure = stopped ? undefined : describeFailure(err);
    await CancellationScope.nonCancellable(() =>
      framework.endSourceSync({
        source,
        holder,
        outcome: stopped ? 'skipped' : 'failed',
        error: failure?.message,
        category: failure?.category,
      }),
    );
    throw err;
  }
}

/** The job was stopped by the controls (kill switch, writes off, ...), as opposed to failing. */
export function isControlsStop(err: unknown): boolean {
  return err instanceof JobSkipped || isCancellation(err) || describeFailure(err).category === 'kill_switch';
}
