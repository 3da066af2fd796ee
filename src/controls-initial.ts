import type { Config } from './config';
import type { ControlsState } from './controls-model';
import { readControls, type Store } from './store';

/**
 * The state ops-controls starts from: the last state mirrored in the store (so a lost Temporal
 * server never silently turns a kill switch off), else the configured defaults.
 */
export async function initialControls(config: Config, store: Store, now: Date): Promise<ControlsState> {
  const mirrored = await readControls(store.db);
  if (mirrored) return mirrored as unknown as ControlsState;
  return {
    ...config.controls,
    version: 0,
    updatedAt: now.toISOString(),
    updatedBy: 'config',
    reason: 'initial state from configuration',
  };
}
