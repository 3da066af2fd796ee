/**
 * The watchers run_watchers runs, in parallel, one activity each. Adding a watcher is adding its
 * entry here (names are unique; the runner looks a watcher up by name).
 */
import { costAnomalies } from './cost-anomalies';
import { deadLetterGrowthWatcher } from './dead-letter-growth';
import { failureRateWatcher } from './failure-rate';
import { longRunsWatcher } from './long-runs';
import { performanceDegradation } from './performance';
import { queueDepthWatcher } from './queue-depth';
import { rateLimits } from './rate-limits';
import { repeatedFailures } from './repeated-failures';
import { stalenessWatcher } from './staleness';
import type { Watcher } from './types';

export const WATCHERS: readonly Watcher[] = [
  repeatedFailures,
  rateLimits,
  costAnomalies,
  performanceDegradation,
  longRunsWatcher,
  failureRateWatcher,
  queueDepthWatcher,
  deadLetterGrowthWatcher,
  stalenessWatcher,
];
