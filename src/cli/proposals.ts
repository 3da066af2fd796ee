/**
 * opsctl proposals: list (the default, pending ones), show, approve, reject, apply. Approve and
 * reject take --reason and --actor like every operator change and are audited; approving starts
 * the workflow that carries the action out (a record_only one is recorded as applied by it).
 */
import { Option, type Command } from 'commander';
import { parseProposalQuery, PROPOSAL_LIST_DEFAULT, PROPOSAL_LIST_MAX, type ProposalQuery, type ProposalView } from '../client';
import { PROPOSAL_STATUSES, type ProposalStatus } from '../store/schema';
import { parsePositiveInt } from './args';
import { formatProposal, formatProposals, printable } from './format';
import { whoOf, withWho, type Context, type GroupContext, type WhoOptions } from './plan';

interface ListOptions {
  status?: ProposalStatus;
  limit: string;
}

export function registerProposals(program: Command, { command, setPlan, env }: GroupContext): void {
  const proposals = command(program, 'proposals', 'what periodic_scan proposes: list (the default), show, approve, reject, apply');

  command(proposals, 'list', 'proposals newest first; by default the ones waiting for a decision', { isDefault: true })
    .addOption(new Option('--status <status>', 'only this status (default pending)').choices([...PROPOSAL_STATUSES]))
    .option('--limit <n>', `at most this many rows (1-${PROPOSAL_LIST_MAX})`, String(PROPOSAL_LIST_DEFAULT))
    .action((opts: ListOptions) => {
      const query: ProposalQuery = { limit: parsePositiveInt(opts.limit, '--limit'), ...(opts.status ? { status: opts.status } : {}) };
      // Checked now (OpsClientError: exit 2), so a bad filter never connects.
      parseProposalQuery(query);
      setPlan(async ({ client, config, out }) => {
        const rows = await client.listProposals(query);
        out.print(formatProposals(rows, { now: new Date(), timeZone: config.timezone }), rows);
      });
    });

  command(proposals, 'show', 'one proposal in full: rationale, evidence, what approving it does, its decision')
    .argument('<id>', 'proposal id (opsctl proposals)')
    .action((idArg: string) => {
      const id = parseProposalId(idArg);
      setPlan(async ({ client, config, out }) => {
        const proposal = await client.getProposal(id);
        out.print(formatProposal(proposal, { now: new Date(), timeZone: config.timezone }), proposal);
      });
    });

  withWho(command(proposals, 'approve', 'approve a pending proposal (audited) and start applying it; prints the workflow id'))
    .argument('<id>', 'proposal id (opsctl proposals)')
    .option('--wait', 'wait until it is applied; exit 1 if it could not be')
    .action((idArg: string, opts: WhoOptions & { wait?: boolean }) => {
      const id = parseProposalId(idArg);
      const who = whoOf(opts, env, 'proposals approve');
      setPlan(async (ctx) => {
        const { proposal, workflowId } = await ctx.client.approveProposal(id, who);
        if (opts.wait) {
          ctx.out.progress(`proposal #${proposal.id} approved by ${printable(who.actor, 100)}; waiting for ${workflowId}`);
          return waitForApply(ctx, workflowId, proposal.id);
        }
        ctx.out.print(
          `proposal #${proposal.id} approved by ${printable(who.actor, 100)}: ${printable(who.reason)}\napplying (${printable(proposal.does)}) in workflow ${workflowId}`,
          { proposal, workflowId },
        );
        return 0;
      }, 'write');
    });

  withWho(command(proposals, 'reject', 'reject a pending proposal (audited); it is not proposed again during the cool-down'))
    .argument('<id>', 'proposal id (opsctl proposals)')
    .action((idArg: string, opts: WhoOptions) => {
      const id = parseProposalId(idArg);
      const who = whoOf(opts, env, 'proposals reject');
      setPlan(async ({ client, out }) => {
        const proposal = await client.rejectProposal(id, who);
        out.print(`proposal #${proposal.id} rejected by ${printable(who.actor, 100)}: ${printable(who.reason)}`, proposal);
      }, 'write');
    });

  command(proposals, 'apply', 'start applying an approved proposal again (after the kill switch or a failed start stopped it)')
    .argument('<id>', 'proposal id (opsctl proposals)')
    .option('--wait', 'wait until it is applied; exit 1 if it could not be')
    .action((idArg: string, opts: { wait?: boolean }) => {
      const id = parseProposalId(idArg);
      setPlan(async (ctx) => {
        const { proposal, workflowId } = await ctx.client.applyProposal(id);
        if (opts.wait) return waitForApply(ctx, workflowId, proposal.id);
        ctx.out.print(`proposal #${proposal.id}: applying (${printable(proposal.does)}) in workflow ${workflowId}`, { proposal, workflowId });
        return 0;
      }, 'write');
    });
}

/** Waits for the apply workflow; 0 when the proposal was applied, 1 when it could not be. */
async function waitForApply({ client, out }: Context, workflowId: string, id: number): Promise<number> {
  const ended = await client.proposalApplyResult(workflowId, id);
  const line = (p: ProposalView) =>
    ended.outcome === 'applied'
      ? `proposal #${p.id} applied: ${printable(ended.result ?? p.apply_result ?? '')}`
      : `proposal #${p.id} not applied (it stays ${p.status}): ${printable(ended.error ?? '')}\n\`opsctl proposals apply ${p.id}\` tries again`;
  out.print(line(ended.proposal), ended);
  return ended.outcome === 'applied' ? 0 : 1;
}

function parseProposalId(value: string): number {
  return parsePositiveInt(value, 'proposal id');
}
