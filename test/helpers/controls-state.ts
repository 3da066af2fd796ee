/** A valid controls state for pure tests: everything on, quiet hours off; override what a test is about. */
import type { ControlsState } from '../../src/controls-model';

export function controlsState(overrides: Partial<ControlsState> = {}): ControlsState {
  return {
    killSwitch: false,
    jobsEnabled: true,
    commsEnabled: true,
    writeEnabled: true,
    quietHours: { enabled: false, start: '22:00', end: '07:00', timeZone: 'America/Chicago' },
    version: 1,
    updatedAt: '2026-11-23T00:00:00.000Z',
    updatedBy: 'test',
    reason: 'test',
    ...overrides,
  };
}
