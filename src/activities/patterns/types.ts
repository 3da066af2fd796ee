/**
 * The contract every detector of detect_patterns implements. A detector is a pure, deterministic
 * function over the store: the same rows, config, `now` and `since` give the same patterns, in the
 * same order (by subject). It never reads the wall clock, only ctx.now.
 */
import type { Kysely } from 'kysely';
import type { Config } from '../../config';
import type { ProposalAction } from '../../proposal-actions';
import type { EvidenceRef } from '../../store/proposals';
import type { Database } from '../../store/schema';

export type { EvidenceRef };

export interface Pattern {
  /** 'failing_automation' | 'flaky_job' | 'rate_limit_pressure' | 'recurring_request' | 'crm_churn' | ... */
  kind: string;
  /** What it is about (n8n workflow id, job name, source, normalised message, ...). */
  subject: string;
  /** 0..1, formula documented on the detector (and in its `describe`). */
  confidence: number;
  /** Ids of the rows it rests on, so a person can see why it fired. */
  evidence: EvidenceRef[];
  /** One sentence a person reads. */
  summary: string;
  /** Proposal title. */
  title: string;
  /** What approving it would do (record_only when nothing automatic fits). */
  action: ProposalAction;
}

export interface PatternContext {
  db: Kysely<Database>;
  config: Config;
  /** The scan's clock: every window is measured back from here, never from Date.now(). */
  now: Date;
  /** Start of the lookback window (now - config.proposals.lookbackHours). */
  since: Date;
}

export interface Detector {
  kind: string;
  /** The confidence formula in words. */
  describe: string;
  detect(ctx: PatternContext): Promise<Pattern[]>;
}
