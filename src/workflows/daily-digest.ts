/**
 * Spec job 2: the daily digest. Once per calendar day in the operator's time zone: a second run
 * the same day finds the day's digest settled and ends skipped; a failed send is tried once more
 * after the configured delay (5 minutes), then the run fails into the dead-letter queue.
 */
import type { JobInput, JobResult } from '../definitions';
import { localDay } from '../notifications/local-day';
import { runJob } from './job-runner';

export async function daily_digest(input: JobInput = {}): Promise<JobResult> {
  return runJob('daily_digest', input, async (ctx) => {
    const { timezone, messages } = ctx.settings;
    const day = localDay(new Date(), timezone);
    ctx.progress('gathering', { day });
    const preview = await ctx.act.prepareDigest({ day });
    if (preview.alreadySent) {
      ctx.skip(`Today's digest (${day}) was already sent (${preview.alreadySent.status} at ${preview.alreadySent.at})`);
    }
    ctx.progress('sending', { day, bullets: preview.bullets.length });
    const send = ctx.activities({
      startToCloseTimeout: messages.sendTimeoutMs * 2,
      retry: { maximumAttempts: 2, initialInterval: messages.digestRetryDelayMs, backoffCoefficient: 1 },
    });
    const sent = await send.sendDigest({ preview, workflowId: ctx.workflowId });
    if (sent.status === 'suppressed') ctx.skip(sent.reason ?? 'suppressed');
    return {
      day,
      status: sent.status,
      channel: sent.channel,
      bullets: preview.bullets.length,
      heldDelivered: sent.delivered,
      // Sent to the console only: the held alerts wait for a digest through a real channel.
      ...(sent.heldKept ? { heldKept: sent.heldKept } : {}),
      metrics: preview.metrics,
    };
  });
}
