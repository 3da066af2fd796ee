/**
 * "Stricter" made precise (controls-model `loosens`), and the two places that rely on it: the
 * ops-controls Update applies a change that does not loosen before the store has it, and a job's
 * Guard never ignores a stricter state, whatever its version.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loosens, supersedes, tightens, type ControlFlags, type ControlsState, type QuietHours } from '../../src/controls-model';
import { SKIP_REASONS } from '../../src/definitions';
import { JOB_NAMES } from '../../src/jobs';
import { Guard, JobSkipped, stopReason } from '../../src/workflows/guard';
import { formatControls } from '../../src/cli/format';

const quiet: QuietHours = { enabled: false, start: '22:00', end: '07:00', timeZone: 'America/Chicago' };
const open: ControlFlags = { killSwitch: false, jobsEnabled: true, commsEnabled: true, writeEnabled: true, quietHours: quiet };

function state(flags: Partial<ControlFlags>, version: number): ControlsState {
  return { ...open, ...flags, version, updatedAt: '2026-11-23T00:00:00.000Z', updatedBy: 'test', reason: 'test' };
}

describe('loosens: whether a change lets anything happen that was forbidden', () => {
  it('turning a control the strict way never loosens', () => {
    expect(loosens(open, { ...open, killSwitch: true })).toBe(false);
    expect(loosens(open, { ...open, jobsEnabled: false })).toBe(false);
    expect(loosens(open, { ...open, commsEnabled: false })).toBe(false);
    expect(loosens(open, { ...open, writeEnabled: false })).toBe(false);
    expect(loosens(open, { ...open, quietHours: { ...quiet, enabled: true } })).toBe(false);
    // Quiet hours off: editing the window changes nothing a job sees.
    expect(loosens(open, { ...open, quietHours: { ...quiet, start: '01:00', timeZone: 'Europe/Paris' } })).toBe(false);
    // The same state again (a repeated `kill on`) is not looser.
    expect(loosens({ ...open, killSwitch: true }, { ...open, killSwitch: true })).toBe(false);
  });

  it('turning any control back loosens, one flag at a time', () => {
    const strict: ControlFlags = { killSwitch: true, jobsEnabled: false, commsEnabled: false, writeEnabled: false, quietHours: { ...quiet, enabled: true } };
    expect(loosens(strict, { ...strict, killSwitch: false })).toBe(true);
    // The kill switch stays on, but jobs would run once it goes off: still looser.
    expect(loosens(strict, { ...strict, jobsEnabled: true })).toBe(true);
    expect(loosens(strict, { ...strict, commsEnabled: true })).toBe(true);
    expect(loosens(strict, { ...strict, writeEnabled: true })).toBe(true);
    expect(loosens(strict, { ...strict, quietHours: { ...quiet, enabled: false } })).toBe(true);
    // Another window may let a job run at an hour the old one kept quiet.
    expect(loosens(strict, { ...strict, quietHours: { ...quiet, enabled: true, end: '06:00' } })).toBe(true);
    expect(loosens(strict, { ...strict, quietHours: { ...quiet, enabled: true, timeZone: 'Asia/Tokyo' } })).toBe(true);
    // Tighter on one control, looser on another: looser.
    expect(loosens({ ...open, writeEnabled: false }, { ...open, killSwitch: true, writeEnabled: true })).toBe(true);
  });

  it('tightens: a repeat or a window edit while quiet hours are off tightens nothing', () => {
    expect(tightens(open, { ...open })).toBe(false);
    expect(tightens(open, { ...open, quietHours: { ...quiet, enabled: false, end: '06:00' } })).toBe(false);
    expect(tightens(open, { ...open, commsEnabled: false })).toBe(true);
    expect(tightens(open, { ...open, quietHours: { ...quiet, enabled: true } })).toBe(true);
  });

  const time = fc.constantFrom('22:00', '07:00', '06:00', '23:30', '00:00', '12:00');
  const quietHours = fc.record({ enabled: fc.boolean(), start: time, end: time, timeZone: fc.constantFrom('America/Chicago', 'Europe/Paris', 'UTC') });
  const flags = fc.record({ killSwitch: fc.boolean(), jobsEnabled: fc.boolean(), commsEnabled: fc.boolean(), writeEnabled: fc.boolean(), quietHours });
  // Every half hour of one day: each window edge above falls on one.
  const instants = Array.from({ length: 48 }, (_, i) => new Date(Date.UTC(2026, 10, 24, 0, 30 * i)));

  it('a change that does not loosen stops every job at every instant the old controls stopped it', () => {
    fc.assert(
      fc.property(flags, flags, (before, after) => {
        if (loosens(before, after)) return;
        for (const job of JOB_NAMES) {
          for (const at of instants) {
            if (stopReason(job, state(before, 1), at) !== undefined) expect(stopReason(job, state(after, 2), at), `${job} at ${at.toISOString()}`).toBeDefined();
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a change that only tightens (each control the same or stricter) never loosens', () => {
    fc.assert(
      fc.property(flags, fc.record({ kill: fc.boolean(), jobs: fc.boolean(), comms: fc.boolean(), writes: fc.boolean(), quiet: fc.boolean() }), (before, turn) => {
        const after: ControlFlags = {
          killSwitch: before.killSwitch || turn.kill,
          jobsEnabled: before.jobsEnabled && !turn.jobs,
          commsEnabled: before.commsEnabled && !turn.comms,
          writeEnabled: before.writeEnabled && !turn.writes,
          quietHours: { ...before.quietHours, enabled: before.quietHours.enabled || turn.quiet },
        };
        expect(loosens(before, after)).toBe(false);
      }),
    );
  });

  it('a change that loosens nothing and tightens something makes strictly more controls strict, so at most five follow each other', () => {
    const strictCount = (f: ControlFlags) =>
      [f.killSwitch, !f.jobsEnabled, !f.commsEnabled, !f.writeEnabled, f.quietHours.enabled].filter(Boolean).length;
    fc.assert(
      fc.property(flags, flags, (before, after) => {
        if (loosens(before, after) || !tightens(before, after)) return;
        expect(strictCount(after)).toBeGreaterThan(strictCount(before));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('the Guard never ignores a stricter state', () => {
  const noon = new Date('2026-11-23T18:00:00Z');
  const HUGE = Number.MAX_SAFE_INTEGER;

  it('supersedes: newer always; older only when it turns the kill switch on or loosens nothing', () => {
    const current = state({}, 5);
    expect(supersedes(current, state({}, 6))).toBe(true);
    expect(supersedes(current, state({}, 5))).toBe(true);
    expect(supersedes(current, state({ killSwitch: true }, 1))).toBe(true);
    expect(supersedes(current, state({ commsEnabled: false }, 1))).toBe(true);
    // Kill switch on, whatever else the old state says.
    expect(supersedes(state({ jobsEnabled: false }, 5), state({ killSwitch: true }, 1))).toBe(true);
    // Looser and older: ignored.
    expect(supersedes(state({ killSwitch: true }, 5), state({}, 4))).toBe(false);
    expect(supersedes(state({ writeEnabled: false }, 5), state({}, 4))).toBe(false);
  });

  it('after a forged state with a huge version and the kill switch off, the real kill switch still stops the job', () => {
    const guard = new Guard('periodic_scan', state({}, 3));
    guard.onControlsChanged(state({}, HUGE));
    expect(guard.controls.version).toBe(HUGE);
    guard.onControlsChanged(state({ killSwitch: true }, 4));
    expect(guard.controls.killSwitch).toBe(true);
    expect(() => guard.assertMayProceed()).toThrow(JobSkipped);
    expect(() => guard.assertMayProceed()).toThrow(SKIP_REASONS.killSwitch);
  });

  it('a stricter state other than the kill switch takes effect too; a looser one needs a newer version', () => {
    const guard = new Guard('daily_digest', state({}, HUGE));
    guard.onControlsChanged(state({ commsEnabled: false }, 7));
    expect(stopReason('daily_digest', guard.controls, noon)).toBe(SKIP_REASONS.commsDisabled);
    // Older and looser than what the job holds: dropped.
    guard.onControlsChanged(state({}, 6));
    expect(guard.controls.commsEnabled).toBe(false);
    // Newer and looser: taken.
    guard.onControlsChanged(state({}, 8));
    expect(guard.controls.commsEnabled).toBe(true);
  });
});

describe('opsctl shows a change whose store mirror is pending', () => {
  it('one more line, escaped; none when the mirror is written', () => {
    const killed = state({ killSwitch: true }, 4);
    expect(formatControls(killed)).not.toMatch(/mirror/);
    const shown = formatControls({ ...killed, mirror: 'pending', warning: 'Store unavailable: locked\n\x1b[2Jforged' });
    expect(shown.split('\n').at(-1)).toBe('store mirror  PENDING: Store unavailable: locked\\n\\x1b[2Jforged');
  });
});
