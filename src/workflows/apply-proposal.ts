/**
 * Applies one approved proposal: reads it, carries out its action as guarded activities, marks
 * it applied. Started by OpsClient.approveProposal (src/proposal-apply-start.ts).
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type { ApplyProposalInput } from '../activities/apply-proposal';

export interface ApplyProposalResult {
  proposalId: number;
  outcome: 'applied';
  result: string;
}

export async function applyProposal(input: ApplyProposalInput): Promise<ApplyProposalResult> {
  const id = input?.proposalId;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw ApplicationFailure.nonRetryable('applyProposal: proposalId must be a positive whole number', 'validation');
  }
  throw ApplicationFailure.nonRetryable('applyProposal: not built yet', 'internal');
}
