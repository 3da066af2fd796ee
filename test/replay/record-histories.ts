/**
 * Records histories of every workflow, and of the branches that matter (continue-as-new, kill
 * switch mid-activity, digest already sent / suppressed, page budget, retry-queue exhaustion),
 * into test/histories/ (npm run record-histories).
 *
 * It only ADDS files: `<name>.json` is written when absent and kept otherwise, so histories of
 * older workflow code stay under the replay test and keep proving that running workflows can
 * follow the new code. `-- --tag <tag>` (e.g. a date) writes `<name>.<tag>.json` beside them
 * instead, again never over an existing file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CONTROLS_WORKFLOW_ID, SKIP_REASONS, getControlsQuery } from '../../src/definitions';
import { JOB_NAMES } from '../../src/jobs';
import { TransientError, ValidationError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { getDeadLetter, insertDeadLetter, listDeadLetters } from '../../src/store';
import { bootSystem, startLocalTemporal, startTestJob } from '../helpers/boot';
import { HubSpotFake, N8nFake, NotionFake, TelegramFake } from '../fakes';
import { OPERATOR_CHAT, OPERATOR_PHONE, startCommsFakes } from '../helpers/comms';
import { historyFile, parseTag } from './history-files';

const OUT = join(__dirname, '..', 'histories');
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A step of the recording that must not hang it. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function expectBranch(what: string, ok: boolean, got: unknown): void {
  if (!ok) throw new Error(`${what}: the run did not take that branch (${JSON.stringify(got)})`);
}

async function main(): Promise<void> {
  const logger = createLogger('info');
  const tag = parseTag(process.argv.slice(2));
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
  // The activities' clock, moved once to reach a branch that depends on the hour (see the digest below).
  let clockOffsetMs = 0;
  const sys = await bootSystem(
    { address: env.address, namespace: env.namespace ?? 'default', workflowsPath: require.resolve('../workflows') },
    {
      config: {
        sources: {
          notion: { token: notion.token, baseUrl: notionUrl },
          hubspot: { token: hubspot.token, baseUrl: hubspotUrl },
          // Back-to-back n8n syncs are the point here: no 30-minute minimum between them.
          n8n: { baseUrl: n8nUrl, apiKey: n8n.apiKey, pageSize: 2, minSyncIntervalMinutes: 0 },
        },
        telegram: { botToken: telegram.token, apiBase: telegramUrl, chatId: OPERATOR_CHAT },
        comms: comms.config({ comms: { digest: { retryDelayMs: 1000 }, morningCall: { retryDelayMs: 1000 } } }).comms,
        limits: { retryQueueMaxAttempts: 2 },
      },
      now: () => new Date(Date.now() + clockOffsetMs),
    },
  );
  const recorded: string[] = [];
  const kept: string[] = [];
  // The CLI writes the standard JSON history format (the SDK's historyToJSON trips over two
  // protobufjs copies in node_modules).
  const save = async (name: string, workflowId: string, runId?: string): Promise<void> => {
    const file = historyFile(OUT, name, tag);
    if (!file) {
      kept.push(name);
      return;
    }
    const which = ['--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : [])];
    const { stdout } = await run(cli, ['workflow', 'show', ...which, '--output', 'json', '--address', env.address, '--namespace', sys.config.temporal.namespace], { maxBuffer: 64 << 20 });
    // wx: never over a file that appeared meanwhile.
    writeFileSync(file, stdout, { flag: 'wx' });
    recorded.push(name);
    logger.info({ file }, 'history recorded');
  };
  try {
    mkdirSync(OUT, { recursive: true });
    const who = { actor: 'recorder', reason: 'recording histories' };
    await sys.ops.allowlistAdd({ kind: 'phone', address: OPERATOR_PHONE, ...who });
    await sys.ops.allowlistAdd({ kind: 'telegram', address: OPERATOR_CHAT, ...who });
    // The morning call recorded is the fallback path: the call fails twice, then the script goes as a text.
    comms.twilio.fail({ status: 503 }, { status: 503 });

    // The digest suppressed by the router: quiet hours that the job's guard (workflow time) is
    // outside of, but the send (the activities' clock, moved 12 h on) falls in. A suppressed
    // digest does not settle the day, so the ordinary run below still sends it.
    const later = new Date(Date.now() + 12 * 3600_000);
    const hhmm = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    const quiet = { enabled: true, timeZone: 'UTC', start: hhmm(new Date(later.getTime() - 3600_000)), end: hhmm(new Date(later.getTime() + 3600_000)) };
    const { quietHours } = await sys.ops.getControls();
    await sys.ops.changeControls({ quietHours: quiet, ...who });
    clockOffsetMs = 12 * 3600_000;
    const suppressed = await within(60_000, sys.ops.runJob('daily_digest'), 'the suppressed digest');
    clockOffsetMs = 0;
    await sys.ops.changeControls({ quietHours, ...who });
    expectBranch('digest suppressed', suppressed.outcome === 'skipped' && suppressed.reason === SKIP_REASONS.quietHours, suppressed);
    await save('daily_digest-suppressed', suppressed.workflowId);

    for (const job of JOB_NAMES) {
      if (job === 'process_retry_queue') continue;
      const result = await sys.ops.runJob(job);
      await save(job, result.workflowId);
    }

    // Dry runs: every activity under the dry-run header, the report in the output.
    notion.editPage(notion.pages[0]!.id, { title: 'Edited for the dry run' });
    const dry = await sys.ops.runJob('sync_notion', { dryRun: true });
    expectBranch('sync dry run', dry.outcome === 'succeeded' && dry.output?.dryRun !== undefined, dry);
    await save('sync_notion-dry-run', dry.workflowId);

    // The same day again: the digest finds the day's digest sent.
    const again = await sys.ops.runJob('daily_digest');
    expectBranch('digest already sent', again.outcome === 'skipped' && /already sent/.test(again.reason ?? ''), again);
    await save('daily_digest-already-sent', again.workflowId);

    // Comms off: the digest's guard stops it before any step.
    await sys.ops.changeControls({ commsEnabled: false, ...who });
    const silenced = await sys.ops.runJob('daily_digest');
    await sys.ops.changeControls({ commsEnabled: true, ...who });
    expectBranch('digest with comms off', silenced.outcome === 'skipped' && silenced.reason === SKIP_REASONS.commsDisabled, silenced);
    await save('daily_digest-comms-off', silenced.workflowId);

    // A sync that reaches its page budget (sources.maxPagesPerRun) and pauses with more to do:
    // six new executions at two per page, a budget of one page. The worker reads the budget from
    // its config at every run, so changing it here is what a config reload would do.
    n8n.addFailures('wf-budget', 6, new Date(Date.now() - 600_000).toISOString());
    const budget = sys.config.sources.maxPagesPerRun;
    sys.config.sources.maxPagesPerRun = 1;
    const paused = await sys.ops.runJob('sync_n8n');
    sys.config.sources.maxPagesPerRun = budget;
    expectBranch('sync at its page budget', paused.outcome === 'succeeded' && (paused.output as { more?: boolean }).more === true, paused);
    await save('sync_n8n-page-budget', paused.workflowId);

    // A production job stopped by the kill switch while its activity waits on the API.
    notion.fail({ delayMs: 8000 });
    const requestsBefore = notion.requests.length;
    const syncing = await sys.ops.startJob('sync_notion');
    for (let waited = 0; notion.requests.length === requestsBefore; waited += 50) {
      if (waited > 30_000) throw new Error('sync_notion never called the Notion fake');
      await sleep(50);
    }
    await sys.ops.setKillSwitch(true, who);
    const killed = await within(30_000, sys.ops.jobResult(syncing.workflowId), 'the sync stopping at the kill switch');
    await sys.ops.setKillSwitch(false, who);
    expectBranch('sync killed mid-activity', killed.outcome === 'skipped' && killed.reason === SKIP_REASONS.killSwitch, killed);
    await save('sync_notion-killed', syncing.workflowId);


    // A failed run (dead letter), then the retry queue replaying it as a child.
    sys.acts.faults.set('flaky', { times: 5, error: () => new TransientError('timeout') });
    const failed = await startTestJob(sys, 'faultyJob', 'faulty-failed', { params: { fault: 'flaky' } });
    await sys.ops.jobResult(failed);
    await save('faultyJob-failed', failed);
    const letters = await listDeadLetters(sys.store.db, {});
    if (letters.length !== 1) throw new Error(`expected one dead letter, found ${letters.length}`);
    const dryQueue = await sys.ops.runJob('process_retry_queue', { dryRun: true });
    expectBranch('retry queue dry run', (dryQueue.output?.dryRun as { temporal?: unknown[] } | undefined)?.temporal?.length === 1, dryQueue);
    await save('process_retry_queue-dry-run', dryQueue.workflowId);
    const queue = await sys.ops.runJob('process_retry_queue');
    await save('process_retry_queue', queue.workflowId);

    // Retry-queue exhaustion: a transient dead letter whose job keeps failing is replayed until
    // limits.retryQueueMaxAttempts (2 here), then left `exhausted` for a person.
    sys.acts.faults.set('down', { times: Number.MAX_SAFE_INTEGER, error: () => new ValidationError('still down') });
    const letterId = await insertDeadLetter(sys.store.db, {
      created_at: new Date().toISOString(),
      job: 'sync_hubspot',
      workflow_type: 'faultyJob',
      workflow_id: 'recorded-down',
      input: JSON.stringify({ params: { fault: 'down' } }),
      error: 'timeout',
      category: 'transient',
      attempts: 5,
    });
    let lastQueue = queue;
    for (let attempt = 1; attempt <= sys.config.limits.retryQueueMaxAttempts; attempt++) {
      const letter = await getDeadLetter(sys.store.db, letterId);
      if (letter?.next_attempt_at) await sleep(Math.max(0, Date.parse(letter.next_attempt_at) - Date.now()) + 100);
      lastQueue = await sys.ops.runJob('process_retry_queue');
    }
    const exhausted = await getDeadLetter(sys.store.db, letterId);
    expectBranch('retry queue exhausted', exhausted?.status === 'exhausted', { letter: exhausted, run: lastQueue });
    await save('process_retry_queue-exhausted', lastQueue.workflowId);

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

    // ops-controls continuing as new: a fresh run with a short history limit and a job registered
    // with it, changed until it continues; then the next run, which carries state and registry,
    // handles a change and reaches the job.
    logger.info('recording ops-controls continuing as new');
    const controls = sys.client.workflow.getHandle(CONTROLS_WORKFLOW_ID);
    // The quiet hours just recorded would stop the job below at some hours of the day.
    await sys.ops.changeControls({ quietHours: { enabled: false }, ...who });
    const state = await controls.query(getControlsQuery);
    await controls.terminate('recording: restart with a short history limit');
    await sys.client.workflow.start('opsControls', {
      workflowId: CONTROLS_WORKFLOW_ID,
      taskQueue: sys.config.temporal.taskQueue,
      args: [{ state, maxHistoryLength: 40 }],
    });
    const firstRun = (await controls.describe()).runId;
    const reached = sys.acts.reachedGate();
    const held = await startTestJob(sys, 'gatedJob', 'gated-across-continue-as-new');
    await within(30_000, reached, 'the job reaching its gate');
    logger.info({ firstRun }, 'a job is registered with the first run');
    let flips = 0;
    while ((await controls.describe()).runId === firstRun) {
      if (flips >= 20) throw new Error('ops-controls did not continue as new after 20 changes');
      await sys.ops.changeControls({ commsEnabled: flips % 2 === 1, ...who, reason: `flip ${flips}` });
      flips += 1;
      await sleep(200);
    }
    const nextRun = (await controls.describe()).runId;
    await sys.ops.setKillSwitch(true, who);
    const stopped = await within(30_000, sys.ops.jobResult(held), 'the registered job hearing of the kill switch');
    await sys.ops.changeControls({ killSwitch: false, commsEnabled: true, ...who });
    expectBranch('job registered across continue-as-new', stopped.outcome === 'skipped', stopped);
    await save('opsControls-continued-as-new', CONTROLS_WORKFLOW_ID, firstRun);
    await save('opsControls-after-continue-as-new', CONTROLS_WORKFLOW_ID, nextRun);
    logger.info({ recorded, kept, dir: OUT }, 'histories recorded (existing files kept)');
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
