/**
 * Records the webhook's per-contact HubSpot sync into test/histories/, add-only:
 *
 *   npx tsx test/replay/record-hubspot-contact.ts [--tag <tag>]
 *
 * - hubspotContactSync: started by signalWithStart (as the webhook does), one pass, contact stored.
 * - hubspotContactSync-dirty: signalled again while its read is in flight: a second pass.
 * - hubspotContactSync-killed: started under the kill switch: skipped before any read.
 * - hubspotContactSync-replayed: a dead letter's replay (another workflow id, replayOf): it runs
 *   the contact's own workflow as its child instead of reading the contact itself.
 * A file that exists is kept (historyFile): `--tag` records a new set beside the old.
 */
import { join } from 'node:path';
import { JOB_SEARCH_ATTRIBUTE, type JobInput } from '../../src/definitions';
import { createLogger } from '../../src/logger';
import { insertDeadLetter } from '../../src/store';
import { contactChangedSignal, HUBSPOT_CONTACT_WORKFLOW, hubspotContactWorkflowId } from '../../src/workflows/hubspot-contact-definitions';
import { HubSpotFake } from '../fakes';
import { bootSystem, startLocalTemporal, type TestSystem } from '../helpers/boot';
import { parseTag, saveHistory } from './history-files';

const OUT = join(__dirname, '..', 'histories');
const who = { actor: 'recorder', reason: 'record hubspotContactSync under the kill switch' };

async function signalWithStart(sys: TestSystem, contactId: string): Promise<void> {
  const input: JobInput = { trigger: 'manual', params: { contactId } };
  await sys.client.workflow.signalWithStart(HUBSPOT_CONTACT_WORKFLOW, {
    workflowId: hubspotContactWorkflowId(contactId),
    taskQueue: sys.config.temporal.taskQueue,
    args: [input],
    signal: contactChangedSignal,
    signalArgs: [{ eventIds: [1], subscriptionTypes: ['contact.propertyChange'] }],
    typedSearchAttributes: [{ key: JOB_SEARCH_ATTRIBUTE, value: 'sync_hubspot' }],
  });
}

async function main(): Promise<void> {
  const logger = createLogger('info');
  const tag = parseTag(process.argv.slice(2));
  const { env, cli } = await startLocalTemporal();
  const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(5), rateLimit: false });
  const url = await hubspot.start();
  const sys = await bootSystem(
    { address: env.address, namespace: env.namespace ?? 'default', workflowsPath: require.resolve('../workflows') },
    { config: { sources: { hubspot: { token: hubspot.token, baseUrl: url } } } },
  );
  const source = { cli, address: env.address, namespace: sys.config.temporal.namespace };
  const save = async (name: string, workflowId: string): Promise<void> => {
    const file = await saveHistory(source, OUT, name, tag, workflowId);
    logger.info(file ? { file } : { name }, file ? 'history recorded' : 'history kept (the file exists)');
  };
  const expectRun = async (contactId: string, check: (output: Record<string, unknown>, outcome: string) => boolean): Promise<string> => {
    const workflowId = hubspotContactWorkflowId(contactId);
    const result = await sys.ops.jobResult(workflowId);
    if (!check(result.output ?? {}, result.outcome)) throw new Error(`${workflowId}: the run did not take that branch (${JSON.stringify(result)})`);
    return workflowId;
  };
  try {
    await sys.ops.ensureControls();

    await signalWithStart(sys, '1');
    await save('hubspotContactSync', await expectRun('1', (o, outcome) => outcome === 'succeeded' && o.passes === 1));

    // The read is held for a second: the second signal lands while it is in flight.
    hubspot.fail({ delayMs: 1000, path: '/crm/v3/objects/contacts/2' });
    await signalWithStart(sys, '2');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await signalWithStart(sys, '2');
    await save('hubspotContactSync-dirty', await expectRun('2', (o, outcome) => outcome === 'succeeded' && o.passes === 2));

    const input = { trigger: 'manual' as const, params: { contactId: '4' } };
    const letter = await insertDeadLetter(sys.store.db, {
      created_at: new Date().toISOString(),
      job: 'sync_hubspot',
      workflow_type: HUBSPOT_CONTACT_WORKFLOW,
      workflow_id: hubspotContactWorkflowId('4'),
      input: JSON.stringify(input),
      error: 'recorded',
      category: 'transient',
      attempts: 1,
    });
    const replayId = 'sync_hubspot-retry-recorded';
    await sys.client.workflow.start(HUBSPOT_CONTACT_WORKFLOW, { workflowId: replayId, taskQueue: sys.config.temporal.taskQueue, args: [{ ...input, trigger: 'retry_queue', replayOf: letter }] });
    const replayed = await sys.ops.jobResult(replayId);
    if (replayed.output?.delegatedTo !== hubspotContactWorkflowId('4')) throw new Error(`the replay did not delegate: ${JSON.stringify(replayed)}`);
    await save('hubspotContactSync-replayed', replayId);

    await sys.ops.setKillSwitch(true, who);
    try {
      await signalWithStart(sys, '3');
      await save('hubspotContactSync-killed', await expectRun('3', (_o, outcome) => outcome === 'skipped'));
    } finally {
      await sys.ops.setKillSwitch(false, who);
    }
  } finally {
    await sys.close();
    await hubspot.close();
    await env.teardown();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
