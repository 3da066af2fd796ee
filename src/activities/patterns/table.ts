/**
 * Every detector detect_patterns runs, in this order. Each is pure over the store and returns
 * every pattern it sees with its confidence; the detect_patterns activity keeps those at or over
 * config.proposals.minConfidence (keptPatterns below).
 */
import { crmChurn } from './crm-churn';
import { failingAutomation } from './failing-automation';
import { flakyJob } from './flaky-job';
import { rateLimitPressure } from './rate-limit-pressure';
import { recurringRequest } from './recurring-request';
import type { Detector, Pattern } from './types';

export const DETECTORS: readonly Detector[] = [failingAutomation, flakyJob, rateLimitPressure, recurringRequest, crmChurn];

/** The patterns worth keeping: confidence at or over the configured minimum. */
export function keptPatterns(patterns: readonly Pattern[], minConfidence: number): Pattern[] {
  return patterns.filter((p) => p.confidence >= minConfidence);
}
