/**
 * The watchers run_watchers runs, in parallel, one activity each. Adding a watcher is adding its
 * entry here (names are unique; the runner looks a watcher up by name).
 */
import { costAnomalies } from './cost-anomalies';
import { performanceDegradation } from './performance';
import { rateLimits } from './rate-limits';
import { repeatedFailures } from './repeated-failures';
import type { Watcher } from './types';

export const WATCHERS: readonly Watcher[] = [repeatedFailures, rateLimits, costAnomalies, performanceDegradation];
