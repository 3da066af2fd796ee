/**
 * Spec job 3: the morning call. A read-only script that fits the spoken time; the call is
 * retried once after the configured delay (2 minutes), then the same script goes as a text.
 * Once per calendar day in the operator's time zone.
 */
import { ActivityFailure, isCancellation } from '@temporalio/workflow';
import type { JobInput, JobResult } from '../definitions';
import { localDay } from '../notifications/local-day';
import { describeFailure, runJob } from './job-runner';

export async function morning_call(input: JobInput = {}): Promise<JobResult> {
  return runJob('morning_call', input, async (ctx) => {
    const { timezone, messages } = ctx.settings;
    const day = localDay(new Date(), timezone);
    ctx.progress('writing the script', { day });
    const { alreadyMade, script } = await ctx.act.prepareCallScript({ day });
    if (alreadyMade) ctx.skip(`Today's morning call (${day}) was already made (${alreadyMade.status} at ${alreadyMade.at})`);
    const spoken = { words: script.words, seconds: script.seconds, sentencesDropped: script.dropped };
    ctx.progress('calling', { day, ...spoken });
    const call = ctx.activities({
      startToCloseTimeout: messages.sendTimeoutMs * 2,
      retry: { maximumAttempts: 2, initialInterval: messages.callRetryDelayMs, backoffCoefficient: 1 },
    });
    try {
      const placed = await call.placeMorningCall({ day, script: script.text, workflowId: ctx.workflowId });
      if (placed.status === 'suppressed') ctx.skip(placed.reason ?? 'suppressed');
      return { day, via: placed.channel, status: placed.status, script: spoken };
    } catch (err) {
      // Skips, and the guard's cancellations, are not a failed call.
      if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
      const callError = describeFailure(err).message;
      ctx.progress('texting instead', { day, callError });
      const text = await ctx.act.sendCallFallback({ day, script: script.text, workflowId: ctx.workflowId, callError });
      if (text.status === 'suppressed') ctx.skip(text.reason ?? 'suppressed');
      return { day, via: text.channel, status: text.status, callError, failedMornings: text.failedMornings, script: spoken };
    }
  });
}
