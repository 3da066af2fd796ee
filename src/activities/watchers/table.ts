/**
 * The watchers run_watchers runs, in parallel, one activity each. Adding a watcher is adding its
 * entry here (names are unique; the runner looks a watcher up by name).
 */
import type { Watcher } from './types';

export const WATCHERS: readonly Watcher[] = [];
