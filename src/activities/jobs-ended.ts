/**
 * Tells ops-controls which runs have ended, for the runs of this process together. recordRun
 * waits until a signal naming its run has been sent (so a later run that reuses the workflow id
 * registers after it, never before), but at most one signal is in flight: ids that arrive
 * meanwhile go together in the next. A kill switch that ends a hundred runs at once then sends a
 * few signals, where one each queued a hundred on ops-controls' lock and held every run's end.
 */
import { MAX_ENDED_PER_SIGNAL } from '../job-registry';

export type SendEnded = (workflowIds: string[]) => Promise<void>;

export class EndedRuns {
  private queued: { workflowId: string; sent: () => void }[] = [];
  private draining = false;

  /** `send` is best effort and must not throw: a lost signal costs one signal too many at the next fan-out. */
  constructor(private readonly send: SendEnded) {}

  /** Resolves once a signal naming `workflowId` has been sent (or has failed). */
  ended(workflowId: string): Promise<void> {
    return new Promise((sent) => {
      this.queued.push({ workflowId, sent });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queued.length > 0) {
        const batch = this.queued.splice(0, MAX_ENDED_PER_SIGNAL);
        await this.send(batch.map((b) => b.workflowId)).catch(() => undefined);
        for (const b of batch) b.sent();
      }
    } finally {
      this.draining = false;
    }
  }
}
