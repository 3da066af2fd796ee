/**
 * Records one history of every workflow into test/histories/ (npm run record-histories).
 * Re-record only on purpose: the replay test exists to fail when workflow code changes in a way
 * that running workflows could not follow.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CONTROLS_WORKFLOW_ID } from '../../src/definitions';
import { JOB_NAMES } from '../../src/jobs';
import { TransientError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { listDeadLetters } from '../../src/store';
import { bootSystem, startLocalTemporal, startTestJob } from '../helpers/boot';
import { HubSpotFake, N8nFake, NotionFake, TelegramFake } from '../fakes';
import { OPERATOR_CHAT, OPERATOR_PHONE, startCommsFakes } from '../helpers/comms';

const OUT = join(__dirname, '..', 'histories');
const run = promisify(execFile);

async function main(): Promise<void> {
  const logger = createLogger('info');
  const { env, cli } = await startLocalTemporal();
  // Every source configured against its fake, so the sync jobs record real multi-page runs.
  const notion = new NotionFake({ pages: NotionFake.generatePages(250, { tagEvery: 2, tag: 'SOP' }), rateLimit: false });
  const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(250), rateLimit: false });
  const n8n = new N8nFake({ rateLimit: false });
  const telegram = new TelegramFake({ rateLimit: false });
  n8n.addFailures('wf-recorded', 3, new Date(Date.now() - 3600_000).toISOString());
  telegram.sendFromUser({ chatId: Number(OPERATOR_CHAT), text: 'recorded message' });
  const [notionUrl, hubspotUrl, n8nUrl, telegramUrl] = await Promise.all([notion, hubspot, n8n, telegram].map((f) => f.start()));
  // The message providers too, so the digest, the morning call and alert delivery send for real.
  const comms = await startCommsFakes();
  const sys = await bootSystem(
    { address: env.address, namespace: env.namespace ?? 'default', workflowsPath: require.resolve('../workflows') },
    {
      config: {
        sources: {
          notion: { token: notion.token, baseUrl: notionUrl },
          hubspot: { token: hubspot.token, baseUrl: hubspotUrl },
          n8n: { baseUrl: n8nUrl, apiKey: n8n.apiKey, pageSize: 2 },
        },
        telegram: { botToken: telegram.token, apiBase: telegramUrl, chatId: OPERATOR_CHAT },
        comms: comms.config({ comms: { digest: { retryDelayMs: 1000 }, morningCall: { retryDelayMs: 1000 } } }).comms,
      },
    },
  );
  const recorded: string[] = [];
  // The CLI writes the standard JSON history format (the SDK's historyToJSON trips over two
  // protobufjs copies in node_modules).
  const save = async (name: string, workflowId: string): Promise<void> => {
    const { stdout } = await run(cli, ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', env.address, '--namespace', sys.config.temporal.namespace], { maxBuffer: 64 << 20 });
    writeFileSync(join(OUT, `${name}.json`), stdout);
    recorded.push(name);
  };
  try {
    mkdirSync(OUT, { recursive: true });
    const who = { actor: 'recorder', reason: 'recording histories' };
    await sys.ops.allowlistAdd({ kind: 'phone', address: OPERATOR_PHONE, ...who });
    await sys.ops.allowlistAdd({ kind: 'telegram', address: OPERATOR_CHAT, ...who });
    // The morning call recorded is the fallback path: the call fails twice, then the script goes as a text.
    comms.twilio.fail({ status: 503 }, { status: 503 });

    for (const job of JOB_NAMES) {
      if (job === 'process_retry_queue') continue;
      const result = await sys.ops.runJob(job);
      await save(job, result.workflowId);
    }


    // A failed run (dead letter), then the retry queue replaying it as a child.
    sys.acts.faults.set('flaky', { times: 5, error: () => new TransientError('timeout') });
    const failed = await startTestJob(sys, 'faultyJob', 'faulty-failed', { params: { fault: 'flaky' } });
    await sys.ops.jobResult(failed);
    await save('faultyJob-failed', failed);
    const letters = await listDeadLetters(sys.store.db, {});
    if (letters.length !== 1) throw new Error(`expected one dead letter, found ${letters.length}`);
    const queue = await sys.ops.runJob('process_retry_queue');
    await save('process_retry_queue', queue.workflowId);

    // A sync that fails (401) and releases the source with its alert.
    hubspot.touch('1', new Date().toISOString());
    hubspot.fail({ status: 401 });
    const rejected = await sys.ops.runJob('sync_hubspot');
    if (rejected.outcome !== 'failed') throw new Error(`expected the 401 sync to fail, got ${rejected.outcome}`);
    await save('sync_hubspot-failed', rejected.workflowId);

    // An alert that must go out now (SEV1: an SMS), delivered by its own workflow.
    const alertId = 'notify-recorded-sev1';
    await sys.client.workflow.execute('deliverNotification', {
      workflowId: alertId,
      taskQueue: sys.config.temporal.taskQueue,
      args: [{ idempotencyKey: 'recorded:sev1', severity: 'SEV1', type: 'recorded', title: 'Recorded SEV1 alert', body: 'recorded' }],
    });
    await save('deliverNotification', alertId);

    // A run stopped by the kill switch while blocked in an activity.
    const arrived = sys.acts.reachedGate();
    const gated = await startTestJob(sys, 'gatedJob', 'gated-killed');
    await arrived;
    await sys.ops.setKillSwitch(true, who);
    await sys.ops.jobResult(gated);
    await save('gatedJob-killed', gated);
    await sys.ops.changeControls({ killSwitch: false, quietHours: { enabled: true, start: '22:00', end: '06:00' }, ...who });
    await save('opsControls', CONTROLS_WORKFLOW_ID);
    logger.info({ recorded, dir: OUT }, 'histories recorded');
  } finally {
    await sys.close();
    await env.teardown();
    await Promise.all([notion, hubspot, n8n, telegram].map((f) => f.close()));
    await comms.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
