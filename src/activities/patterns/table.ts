/**
 * Every detector detect_patterns runs, in this order. Each is pure over the store; the activity
 * filters by config.proposals.minConfidence.
 */
import type { Detector } from './types';

export const DETECTORS: readonly Detector[] = [];
