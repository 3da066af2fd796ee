/**
 * Starts the applyProposal workflow for an approved proposal. Its workflow id names the proposal,
 * so a second start (an approval retried, two operators, a crash between the decision and the
 * start) finds the first run instead of applying twice. Returns the workflow id either way.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { APPLY_PROPOSAL_WORKFLOW, applyProposalWorkflowId } from './activities/apply-proposal';

export async function startApplyProposal(client: Client, taskQueue: string, proposalId: number): Promise<string> {
  if (!Number.isSafeInteger(proposalId) || proposalId < 1) throw new RangeError(`proposal id: a positive whole number, not ${String(proposalId)}`);
  const workflowId = applyProposalWorkflowId(proposalId);
  try {
    await client.workflow.start(APPLY_PROPOSAL_WORKFLOW, {
      workflowId,
      taskQueue,
      args: [{ proposalId }],
      // Running or applied: a second start is a no-op. A failed run (e.g. blocked by the kill
      // switch) may be started again; its activities are idempotent.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return workflowId;
}
