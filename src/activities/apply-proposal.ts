/**
 * Carrying out an approved proposal (issue 10 "Approval, and corrections"). The applyProposal
 * workflow reads the proposal, runs its action here, then marks it applied; each activity is
 * idempotent, so a retried one changes nothing twice.
 */
import type { ActivityDeps } from './deps';

export const APPLY_PROPOSAL_WORKFLOW = 'applyProposal';

/** `apply-proposal-<id>`: one applying run per proposal. */
export function applyProposalWorkflowId(proposalId: number): string {
  return `apply-proposal-${proposalId}`;
}

export interface ApplyProposalInput {
  proposalId: number;
}

export function createApplyProposalActivities(_deps: ActivityDeps) {
  return {};
}
