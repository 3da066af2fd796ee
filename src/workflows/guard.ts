/**
 * The spec's beforeJobExecution, held for the whole run: it decides before every activity
 * whether the job may go on, and cancels in-flight work when the controls change under it.
 */
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import { supersedes, type ControlsState } from '../controls-model';
import { SKIP_REASONS } from '../definitions';
import { jobTraits, type JobName } from '../jobs';
import { isQuietHours } from '../quiet-hours';


/** Thrown inside a job to end it `skipped`; never a failure. */
export class JobSkipped extends Error {
  override readonly name = 'JobSkipped';
  constructor(readonly reason: string) {
    super(reason);
  }
}

export function stopReason(job: JobName, controls: ControlsState, now: Date): string | undefined {
  const traits = jobTraits(job);
  if (controls.killSwitch) return SKIP_REASONS.killSwitch;
  if (!controls.jobsEnabled && !traits.runsWhenJobsDisabled) return SKIP_REASONS.jobsDisabled;
  if (!traits.runsInQuietHours && isQuietHours(now, controls.quietHours)) return SKIP_REASONS.quietHours;
  if (traits.requiresWrites && !controls.writeEnabled) return SKIP_REASONS.writesDisabled;
  if (traits.requiresComms && !controls.commsEnabled) return SKIP_REASONS.commsDisabled;
  return undefined;
}

export class Guard {
  private scope: CancellationScope | undefined;
  private stoppedFor: string | undefined;

  constructor(
    private readonly job: JobName,
    private current: ControlsState,
  ) {}

  get controls(): ControlsState {
    return this.current;
  }

  /** Applies a newer or stricter controls state (see supersedes); cancels running work if it now forbids the job. */
  onControlsChanged(next: ControlsState): void {
    if (!supersedes(this.current, next)) return;
    this.current = next;
    const reason = stopReason(this.job, next, new Date());
    if (reason && this.scope && !this.stoppedFor) {
      this.stoppedFor = reason;
      this.scope.cancel();
    }
  }

  /** Throws JobSkipped when the job must not start another step. */
  assertMayProceed(): void {
    const reason = this.stoppedFor ?? stopReason(this.job, this.current, new Date());
    if (reason) throw new JobSkipped(reason);
  }

  /** Runs the job body in a scope the guard can cancel; a cancellation it caused becomes a skip. */
  async run<T>(body: () => Promise<T>): Promise<T> {
    this.scope = new CancellationScope();
    try {
      return await this.scope.run(body);
    } catch (err) {
      if (this.stoppedFor && isCancellation(err)) throw new JobSkipped(this.stoppedFor);
      throw err;
    } finally {
      this.scope = undefined;
    }
  }
}
