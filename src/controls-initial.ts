import type { Config } from './config';
import { checkControlsState, type ControlsState } from './controls-model';
import { readControls, type Store } from './store';

/**
 * The controls as mirrored in the store, bounded: free text written before the length caps
 * existed is clipped, so a job never carries an old megabyte-long reason in its history.
 * Undefined before ops-controls first wrote it; a mirror that is not a controls state throws.
 */
export async function mirroredControls(store: Store): Promise<ControlsState | undefined> {
  const mirrored = await readControls(store.db);
  if (!mirrored) return undefined;
  const checked = checkControlsState(mirrored);
  if (!checked.ok) throw new Error(`The agent_controls mirror is malformed: ${checked.error}`);
  return checked.value;
}

/**
 * The state ops-controls starts from: the last state mirrored in the store (so a lost Temporal
 * server never silently turns a kill switch off), else the configured defaults.
 */
export async function initialControls(config: Config, store: Store, now: Date): Promise<ControlsState> {
  return (await mirroredControls(store)) ?? configuredControls(config, now);
}

/** The controls as configured: the state of a store that has never mirrored any. */
export function configuredControls(config: Config, now: Date): ControlsState {
  return {
    ...config.controls,
    version: 0,
    updatedAt: now.toISOString(),
    updatedBy: 'config',
    reason: 'initial state from configuration',
  };
}
