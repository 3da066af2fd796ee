/**
 * A forged but well-formed controlsChanged signal with a huge version and the kill switch off,
 * sent to a running job by anyone who can reach Temporal. A job that dropped every state with a
 * lower version would then ignore the real kill switch; a stricter state is never ignored.
 */
import { describe, expect, it } from 'vitest';
import { CONTROLS_WORKFLOW_ID, getControlsQuery, SKIP_REASONS } from '../../src/definitions';
import type { ControlsState } from '../../src/controls-model';
import { startGatedJob, systemWithControls } from '../helpers/system';

const who = { actor: 'test', reason: 'forged controls version' };

describe('a forged controls state with a huge version', () => {
  const system = systemWithControls();

  it('does not make a running job ignore the real kill switch', async () => {
    const sys = system();
    await sys.ops.setKillSwitch(false, who);
    const jobId = await startGatedJob(sys, 'forged-version-gated');

    const real: ControlsState = await sys.client.workflow.getHandle(CONTROLS_WORKFLOW_ID).query(getControlsQuery);
    const forged: ControlsState = { ...real, killSwitch: false, version: Number.MAX_SAFE_INTEGER, updatedBy: 'mallory', reason: 'forged' };
    // As `temporal workflow signal --name controlsChanged` would send it.
    await sys.client.workflow.getHandle(jobId).signal('controlsChanged', forged);

    const killed = await sys.ops.setKillSwitch(true, who);
    expect(killed.version).toBeLessThan(forged.version);
    // The job stops at the signal: its blocked activity is cancelled (the gate stays shut, so
    // nothing but the signal can end it; the store re-read at the boundary never comes into play).
    await expect.poll(() => sys.acts.cancelled.includes(jobId), { timeout: 10_000 }).toBe(true);
    const result = await sys.ops.jobResult(jobId);
    expect(result).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.killSwitch });
    expect(sys.acts.stepCalls(jobId)).toEqual(['one']);

    await sys.ops.setKillSwitch(false, who);
  }, 60_000);
});
