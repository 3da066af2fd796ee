/**
 * Every detector detect_patterns runs, in this order. Each is pure over the store and returns
 * every pattern it sees with its confidence; the detect_patterns activity
 * (src/activities/proposals.ts) keeps those at or over config.proposals.minConfidence.
 */
import { crmChurn } from './crm-churn';
import { failingAutomation } from './failing-automation';
import { flakyJob } from './flaky-job';
import { rateLimitPressure } from './rate-limit-pressure';
import { recurringRequest } from './recurring-request';
import type { Detector } from './types';

export const DETECTORS: readonly Detector[] = [failingAutomation, flakyJob, rateLimitPressure, recurringRequest, crmChurn];
