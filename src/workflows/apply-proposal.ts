/**
 * Applies one approved proposal: reads it, carries out its action, marks it applied. Started by
 * OpsClient.approveProposal (src/proposal-apply-start.ts) as `apply-proposal-<id>`. Every
 * activity reads the controls first (the boundary: kill switch; applyProposalAction: jobs and
 * writes too), so a stop takes effect at the next activity. A failure is noted on the proposal
 * (it stays approved) and the run fails; a new run of the same id may be started, and changes
 * nothing twice.
 */
import { ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ApplyProposalInput } from '../activities/apply-proposal';
import { describeFailure } from './job-runner';

const { readProposalToApply, recordProposalApplied, recordProposalApplyFailure } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});
const { applyProposalAction } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

export interface ApplyProposalResult {
  proposalId: number;
  /** applied: by this run; already: an earlier run had applied it. */
  outcome: 'applied' | 'already';
  result: string;
}

export async function applyProposal(input: ApplyProposalInput): Promise<ApplyProposalResult> {
  const proposalId: unknown = input?.proposalId;
  if (typeof proposalId !== 'number' || !Number.isSafeInteger(proposalId) || proposalId < 1) {
    throw ApplicationFailure.nonRetryable('applyProposal: proposalId must be a positive whole number', 'validation');
  }
  let result: string;
  try {
    const proposal = await readProposalToApply({ proposalId });
    if (proposal.status === 'applied') return { proposalId, outcome: 'already', result: proposal.result };
    result = await applyProposalAction({ proposalId });
  } catch (err) {
    const failure = describeFailure(err);
    // Under the kill switch the note is refused too (by the same boundary): the run says why.
    await recordProposalApplyFailure({ proposalId, error: failure.message }).catch((noteErr: unknown) =>
      log.warn('proposal apply failure not noted', { proposalId, error: noteErr instanceof Error ? noteErr.message : String(noteErr) }),
    );
    throw ApplicationFailure.create({
      type: 'ProposalNotApplied',
      message: `proposal #${proposalId} not applied (${failure.category}): ${failure.message}`,
      nonRetryable: true,
    });
  }
  await recordProposalApplied({ proposalId, result });
  return { proposalId, outcome: 'applied', result };
}
