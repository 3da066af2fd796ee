/**
 * Records the issue-10 workflows into test/histories/, add-only:
 *
 *   npx tsx test/replay/record-proposals.ts [--tag <tag>]
 *
 * - periodic_scan-proposals: a scan with steps 3 and 4 (the `periodic-scan-proposals` patch):
 *   n8n synced, detect_patterns, generate_proposals, update_incidents.
 * - applyProposal: an approved pause_schedule proposal applied (the schedule paused, marked applied).
 * - applyProposal-blocked: the same under the kill switch: the failure noted, the run failed.
 * A file that exists is kept (historyFile): `--tag` records a new set beside the old.
 */
import { join } from 'node:path';
import { createLogger } from '../../src/logger';
import { startApplyProposal } from '../../src/proposal-apply-start';
import { reconcileSchedules } from '../../src/schedules/reconcile';
import { decideProposal, offerProposal } from '../../src/store';
import { N8nFake } from '../fakes';
import { bootSystem, startLocalTemporal } from '../helpers/boot';
import { parseTag, saveHistory } from './history-files';

const OUT = join(__dirname, '..', 'histories');
const LIMITS = { perHour: 100, coolDownMs: 0, expiresAfterMs: 3600_000 };

async function main(): Promise<void> {
  const logger = createLogger('info');
  const tag = parseTag(process.argv.slice(2));
  const { env, cli } = await startLocalTemporal();
  const n8n = new N8nFake({ rateLimit: false });
  const url = await n8n.start();
  const sys = await bootSystem(
    { address: env.address, namespace: env.namespace ?? 'default', workflowsPath: require.resolve('../workflows') },
    { config: { sources: { n8n: { baseUrl: url, apiKey: n8n.apiKey } } } },
  );
  const source = { cli, address: env.address, namespace: sys.config.temporal.namespace };
  const save = async (name: string, workflowId: string): Promise<void> => {
    const file = await saveHistory(source, OUT, name, tag, workflowId);
    logger.info(file ? { file } : { name }, file ? 'history recorded' : 'history kept (the file exists)');
  };
  const who = { actor: 'recorder', reason: 'record histories' };
  const approved = async (subject: string): Promise<number> => {
    const offer = await offerProposal(
      sys.store.db,
      { kind: 'recorded', subject, title: 'Pause sync_hubspot', rationale: 'recorded', evidence: [], confidence: 0.9, action: { kind: 'pause_schedule', job: 'sync_hubspot' }, now: new Date() },
      LIMITS,
    );
    if (!offer.created) throw new Error(`proposal not created: ${offer.why}`);
    await decideProposal(sys.store.db, offer.id, 'approve', { actor: 'operator', reason: 'recorded', now: new Date() });
    return offer.id;
  };
  try {
    await sys.ops.ensureControls();
    n8n.addFailures('wf-recorded', 3, new Date(Date.now() - 5 * 60_000).toISOString());
    const scan = await sys.ops.startJob('periodic_scan');
    const scanResult = await sys.ops.jobResult(scan.workflowId);
    if (scanResult.outcome !== 'succeeded' || !scanResult.output?.proposals) throw new Error(`periodic_scan did not run steps 3-4: ${JSON.stringify(scanResult)}`);
    await save('periodic_scan-proposals', scan.workflowId);

    await reconcileSchedules(sys.client, sys.config, logger);
    const id = await approved('applied');
    const workflowId = await startApplyProposal(sys.client, sys.config.temporal.taskQueue, id);
    await sys.client.workflow.getHandle(workflowId).result();
    await save('applyProposal', workflowId);

    const blockedId = await approved('blocked');
    await sys.ops.setKillSwitch(true, who);
    try {
      const blocked = await startApplyProposal(sys.client, sys.config.temporal.taskQueue, blockedId);
      const failed = await sys.client.workflow
        .getHandle(blocked)
        .result()
        .then(() => false, () => true);
      if (!failed) throw new Error('applyProposal was not blocked by the kill switch');
      await save('applyProposal-blocked', blocked);
    } finally {
      await sys.ops.setKillSwitch(false, who);
    }
  } finally {
    await sys.close();
    await n8n.close();
    await env.teardown();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
