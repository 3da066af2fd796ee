/**
 * `npm run test:production`: the production topology of docker-compose.yml, run on this machine.
 * The Temporal server v1.29 of deploy/temporal-server.yaml on the local PostgreSQL (persistence
 * and SQL visibility), the worker as the image runs it (`npm run build`, then
 * the Dockerfile's CMD, node dist/src/worker-main.js, with OPS_WORKFLOW_BUNDLE and a PostgreSQL store), local fakes of
 * every API on 127.0.0.1. Every job runs once, the Temporal server is restarted while they run,
 * the kill switch is set and the server restarted again; then schedules (and a pause), controls,
 * the audit trail and the items written are checked: nothing lost, nothing run or written twice.
 * Exits 1 on any failed check.
 *
 * Never builds or downloads Temporal: `npx tsx scripts/provision-temporal-server.ts` first.
 * Its databases (ops_prod_*) are its own; it recreates them at every run and leaves them for a look,
 * and its work dir (server, setup and worker logs) when a check failed.
 * PRODUCTION_TEST_PG_URL: the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres).
 * PRODUCTION_TEST_PREBUILT=1 uses dist/ as it is instead of building (for a second run; CI builds).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { OpsClient } from '../src/client';
import { loadConfig } from '../src/config';
import type { JobResult } from '../src/definitions';
import { isJobName, JOB_NAMES, jobRow, type JobName } from '../src/jobs';
import { createLogger } from '../src/logger';
import { N8N_WORKFLOW_FAILURES } from '../src/activities/sources/n8n';
import { listAudit, listIncidents, listNotifications } from '../src/store';
import { findTemporalCli } from '../src/temporal/cli-binary';
import { findTemporalServer } from '../src/temporal/server-binary';
import { HubSpotFake, N8nFake, NotionFake, type HttpFake } from '../test/fakes';
import { OPERATOR_CHAT, OPERATOR_PHONE, startCommsFakes } from '../test/helpers/comms';
import { freePort } from '../test/helpers/ports';
import { killChildrenOnInterrupt, track } from './chaos/children';
import { tallySource } from './chaos/tally';
import { WORKFLOW_BUNDLE_FILE, repoRoot } from './bundle-workflows';
import { startProductionServer, type PostgresTarget } from './production/temporal-server';

const NAMESPACE = 'default';
const DATABASES = { temporal: 'ops_prod_temporal', visibility: 'ops_prod_temporal_visibility', store: 'ops_prod_store' };
const CONTACTS = 1_200;
const NOTION_PAGES = 300;
const CANONICAL = NOTION_PAGES / 3;
const CHAT_MESSAGES = 40;
const FAILING_N8N = ['wf-billing', 'wf-crm', 'wf-leads'];
const WHO = { actor: 'test-production', reason: 'production topology test' };
const PAUSED_JOB: JobName = 'morning_call';
const JOBS_TIMEOUT_MS = 180_000;

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const checks: Check[] = [];
const figures: [string, string][] = [];
function check(name: string, ok: boolean, detail: string): void {
  checks.push({ name, ok, detail });
  progress(`  ${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
}
const figure = (name: string, value: string | number) => figures.push([name, String(value)]);
const progress = (message: string) => process.stderr.write(`${message}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function recreateDatabases(url: URL): Promise<void> {
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    for (const name of Object.values(DATABASES)) {
      // Only this script's own databases: a previous run's state must not count in this one.
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
    await client.query(`CREATE DATABASE ${DATABASES.store}`);
  } finally {
    await client.end();
  }
}

function timed(label: string, command: string, args: string[], cwd: string): number {
  const began = Date.now();
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${label} failed (${result.status ?? result.signal}):\n${`${result.stdout}${result.stderr}`.split('\n').slice(-20).join('\n')}`);
  return Date.now() - began;
}

class WorkerExited extends Error {}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof WorkerExited) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${last ? ` (last error: ${(last as Error).message.split('\n')[0]})` : ''}`);
    await sleep(500);
  }
}

async function main(): Promise<void> {
  killChildrenOnInterrupt();
  const began = Date.now();
  const repo = repoRoot(__dirname);
  const dir = mkdtempSync(join(tmpdir(), 'ops-production-'));
  const logger = createLogger('warn', { pretty: false });
  const cacheDir = loadConfig({}).cacheDir;
  const binaries = findTemporalServer(cacheDir);
  const cli = await findTemporalCli({ cacheDir, allowBuild: false, allowDownload: false, logger });
  const pgUrl = new URL(process.env.PRODUCTION_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  progress(`test:production: work dir ${dir}`);

  if (process.env.PRODUCTION_TEST_PREBUILT === '1') {
    figure('npm run build', 'skipped (PRODUCTION_TEST_PREBUILT=1): dist/ as it is');
  } else {
    progress('test:production: npm run build (tsc and the workflow bundle, as the Dockerfile does)');
    figure('npm run build', secs(timed('npm run build', 'npm', ['run', 'build'], repo)));
  }

  await recreateDatabases(pgUrl);
  const target: PostgresTarget = {
    host: pgUrl.hostname,
    port: pgUrl.port || '5432',
    user: decodeURIComponent(pgUrl.username),
    password: decodeURIComponent(pgUrl.password),
    database: DATABASES.temporal,
    visibilityDatabase: DATABASES.visibility,
  };
  progress('test:production: the Temporal server (deploy/temporal-setup.sh, deploy/temporal-server.yaml)');
  const serverBegan = Date.now();
  const server = await startProductionServer({ repo, dir, binaries, cli, pg: target, namespace: NAMESPACE, progress: (m) => progress(`  ${m}`) });
  figure('Temporal: schemas, first start, namespace, until serving', secs(Date.now() - serverBegan));

  const fakes: HttpFake[] = [];
  const comms = await startCommsFakes();
  const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(CONTACTS), rateLimit: false });
  const notion = new NotionFake({ pages: NotionFake.generatePages(NOTION_PAGES, { tagEvery: 3, tag: 'SOP' }) });
  const n8n = new N8nFake({ rateLimit: false });
  for (const f of [hubspot, notion, n8n]) {
    await f.start();
    fakes.push(f);
  }
  // The first HubSpot pages are slow, so the syncs are still running when the server restarts.
  hubspot.fail(...Array.from({ length: 6 }, () => ({ delayMs: 1_500 })));
  const recent = new Date(Date.now() - 10 * 60_000).toISOString();
  for (const wf of FAILING_N8N) n8n.addFailures(wf, 4, recent);
  for (let i = 0; i < CHAT_MESSAGES; i++) comms.telegram.sendFromUser({ chatId: Number(OPERATOR_CHAT), text: `note ${i}` });

  // Quiet hours off: every job must run whatever the hour of the CI run. An activity's completion
  // sent while the server restarts can be lost (the SDK gives up after a few seconds of retries);
  // Temporal then runs the activity again once its start-to-close timeout has passed, 5 minutes by
  // default: 45 s here, so a lost completion is recovered well within JOBS_TIMEOUT_MS.
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({ controls: { quietHours: { enabled: false, start: '22:00', end: '07:00' } }, limits: { activityTimeoutMs: 45_000 } }),
  );
  const httpPort = await freePort();
  const c = comms.config().comms as { operatorPhone: string; salesmsg: { token: string; baseUrl: string }; twilio: { accountSid: string; authToken: string; from: string; baseUrl: string } };
  const storeUrl = new URL(pgUrl);
  storeUrl.pathname = `/${DATABASES.store}`;
  // The variables docker-compose.yml gives the worker, pointed at this machine's services and fakes.
  const workerEnv: Record<string, string> = {
    NODE_ENV: 'production',
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: NAMESPACE,
    DATABASE_URL: storeUrl.toString(),
    OPS_DATA_DIR: join(dir, 'data'),
    LOG_LEVEL: 'warn',
    OPS_TIMEZONE: 'America/Chicago',
    OPS_WORKFLOW_BUNDLE: join(repo, WORKFLOW_BUNDLE_FILE),
    OPS_CONFIG: configFile,
    OPS_HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
    NOTION_TOKEN: notion.token,
    NOTION_BASE_URL: notion.url,
    N8N_BASE_URL: n8n.url,
    N8N_API_KEY: n8n.apiKey,
    HUBSPOT_TOKEN: hubspot.token,
    HUBSPOT_BASE_URL: hubspot.url,
    TELEGRAM_BOT_TOKEN: comms.telegram.token,
    TELEGRAM_API_BASE: comms.telegram.url,
    TELEGRAM_CHAT_ID: OPERATOR_CHAT,
    OPS_OPERATOR_PHONE: c.operatorPhone,
    SALESMSG_TOKEN: c.salesmsg.token,
    SALESMSG_BASE_URL: c.salesmsg.baseUrl,
    TWILIO_ACCOUNT_SID: c.twilio.accountSid,
    TWILIO_AUTH_TOKEN: c.twilio.authToken,
    TWILIO_FROM_NUMBER: c.twilio.from,
    TWILIO_BASE_URL: c.twilio.baseUrl,
  };
  const workerLog = join(dir, 'worker.log');
  const logFd = openSync(workerLog, 'a');
  const worker = track(
    spawn(process.execPath, imageCommand(repo), { cwd: repo, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...workerEnv }, stdio: ['ignore', logFd, logFd] }),
  );
  closeSync(logFd);
  let workerExit: string | undefined;
  worker.once('exit', (code, signal) => (workerExit = `${code ?? signal}`));

  const config = loadConfig(workerEnv);
  const ops = await OpsClient.connect(config, { access: 'read' }).catch(async () => waitFor('the store', 30_000, () => OpsClient.connect(config, { access: 'read' })));
  let exitCode = 1;
  try {
    const workerStart = Date.now();
    // Ready: worker-main has registered the search attributes, started ops-controls and made every schedule.
    await waitFor('the worker to make every schedule', 90_000, async () => {
      if (workerExit !== undefined) throw new WorkerExited(`the worker exited (${workerExit}):\n${tail(workerLog)}`);
      const schedules = await ops.listSchedules();
      return schedules.every((s) => s.exists) ? schedules : undefined;
    });
    await ops.getControls();
    figure('worker start until every schedule exists', secs(Date.now() - workerStart));
    const healthy = composeHealthcheck(repo, httpPort);
    check('the compose healthcheck passes once the worker is up', healthy.ok, healthy.detail);

    await ops.pauseSchedule(PAUSED_JOB, WHO);
    // The operator's own addresses: the digest and the call may reach only allowlisted ones.
    await ops.allowlistAdd({ kind: 'phone', address: OPERATOR_PHONE, ...WHO });
    await ops.allowlistAdd({ kind: 'telegram', address: OPERATOR_CHAT, ...WHO });

    progress(`test:production: every job once (${JOB_NAMES.length}), the Temporal server restarted while they run`);
    const runs: { job: JobName; workflowId: string }[] = [];
    // The sync jobs first: each takes its source's lease, so they sync rather than find
    // periodic_scan syncing the same source (it then skips those sources).
    const order = [...JOB_NAMES.filter((job) => jobRow(job).syncs), ...JOB_NAMES.filter((job) => !jobRow(job).syncs)];
    for (const job of order) runs.push(await ops.startJob(job, {}, `production-test-${job}`));
    await waitFor('the HubSpot sync to reach the fake', 30_000, async () => (hubspot.requests.length > 0 ? true : undefined));
    const statuses = await Promise.all(runs.map(async (r) => (await ops.temporal.workflow.getHandle(r.workflowId).describe()).status.name));
    const running = runs.filter((_, i) => statuses[i] === 'RUNNING').map((r) => r.job);
    check('jobs were running when the server went down', running.length > 0, `${running.length} running: ${running.join(', ') || 'none'}`);
    const restartBegan = Date.now();
    await server.restart();
    figure('restart 1 (jobs running): stop + start', secs(Date.now() - restartBegan));

    const results = await Promise.race([
      Promise.all(runs.map((r) => ops.jobResult(r.workflowId))),
      sleep(JOBS_TIMEOUT_MS).then(() => {
        throw new Error(`the jobs did not all end within ${JOBS_TIMEOUT_MS / 1000} s of the restart`);
      }),
    ]);
    figure('jobs ended after restart 1', secs(Date.now() - restartBegan));
    const byOutcome = new Map<string, string[]>();
    for (const r of results as JobResult[]) byOutcome.set(r.outcome, [...(byOutcome.get(r.outcome) ?? []), r.reason ? `${r.job} (${r.reason})` : r.job]);
    const outcomes = [...byOutcome].map(([o, jobs]) => `${o}: ${jobs.join(' ')}`).join('; ');
    const failed = (results as JobResult[]).filter((r) => r.outcome === 'failed');
    check('every job ran to an end, none failed', failed.length === 0, failed.length ? failed.map((r) => `${r.job}: ${r.error ?? r.category}`).join('; ') : outcomes);

    await ops.setKillSwitch(true, WHO);
    const restart2 = Date.now();
    await server.restart();
    figure('restart 2 (kill switch on): stop + start', secs(Date.now() - restart2));

    // --- checks after the restarts ---
    const controls = await waitFor('ops-controls after restart 2', 30_000, () => ops.getControls());
    const healthyAfter = await waitFor('the healthcheck after restart 2', 30_000, async () => {
      const probe = composeHealthcheck(repo, httpPort);
      return probe.ok ? probe : undefined;
    }).catch((err: Error) => ({ ok: false, detail: err.message }));
    check('the compose healthcheck passes again after the restarts', healthyAfter.ok, healthyAfter.detail);
    check('the kill switch is still on', controls.killSwitch === true, `killSwitch=${controls.killSwitch}`);
    const afterKill = await ops.runJob('periodic_scan');
    check('a job started under the kill switch is skipped', afterKill.outcome === 'skipped', `${afterKill.outcome}${afterKill.reason ? ` (${afterKill.reason})` : ''}`);

    const schedules = await ops.listSchedules();
    const missing = schedules.filter((s) => !s.exists).map((s) => s.job);
    check('every schedule is still there', missing.length === 0 && schedules.length === JOB_NAMES.length, `${schedules.length - missing.length}/${JOB_NAMES.length}${missing.length ? `, missing ${missing.join(' ')}` : ''}`);
    const paused = schedules.filter((s) => s.paused).map((s) => s.job);
    const pausedRow = schedules.find((s) => s.job === PAUSED_JOB);
    check(
      `the pause of ${PAUSED_JOB} held, and only it`,
      paused.length === 1 && paused[0] === PAUSED_JOB && (pausedRow?.note ?? '').includes(WHO.actor),
      `paused: ${paused.join(' ') || 'none'}; note: ${pausedRow?.note ?? '-'}`,
    );

    const audit = await listAudit(ops.store.db, { limit: 10_000 });
    const jobRows = audit.filter((row) => isJobName(row.action));
    const perWorkflow = new Map<string, number>();
    for (const row of jobRows) perWorkflow.set(row.workflow_id ?? '(none)', (perWorkflow.get(row.workflow_id ?? '(none)') ?? 0) + 1);
    const twice = [...perWorkflow].filter(([, n]) => n > 1);
    const unaudited = runs.filter((r) => !perWorkflow.has(r.workflowId)).map((r) => r.job);
    check('one audit row per run (manual and scheduled)', twice.length === 0 && unaudited.length === 0 && !perWorkflow.has('(none)'), `${jobRows.length} run rows for ${perWorkflow.size} workflow ids; twice: ${twice.map(([id]) => id).join(' ') || 'none'}; without a row: ${unaudited.join(' ') || 'none'}`);
    figure('scheduled runs during the test', jobRows.length - runs.length - 1);
    const actions = audit.filter((row) => !isJobName(row.action)).map((row) => row.action);
    check(
      'the pause and the kill switch are audited with who',
      audit.some((r) => r.action === 'schedules.pause' && r.actor === WHO.actor) && audit.some((r) => r.action.startsWith('controls') && r.actor === WHO.actor),
      `other audit rows: ${[...new Set(actions)].join(' ')}`,
    );

    let extraRuns = 0;
    for (const r of runs) {
      let n = 0;
      for await (const execution of ops.temporal.workflow.list({ query: `WorkflowId = '${r.workflowId}'` })) if (execution.workflowId === r.workflowId) n++;
      if (n !== 1) extraRuns += Math.abs(n - 1);
    }
    check('each manual workflow id has one execution (SQL visibility)', extraRuns === 0, `${runs.length} ids, ${extraRuns} executions off`);
    let bySearchAttribute = 0;
    for await (const execution of ops.temporal.workflow.list({ query: `OpsJob = 'sync_hubspot'` })) if (execution.workflowId) bySearchAttribute++;
    check('the OpsJob search attribute answers queries', bySearchAttribute >= 1, `OpsJob = 'sync_hubspot': ${bySearchAttribute} executions`);

    const tallies = [await tallySource(ops.store, 'hubspot', CONTACTS), await tallySource(ops.store, 'notion', CANONICAL), await tallySource(ops.store, 'chat', CHAT_MESSAGES)];
    for (const [source, t] of [['hubspot', tallies[0]!], ['notion', tallies[1]!], ['chat', tallies[2]!]] as const) {
      check(`${source} items written exactly once`, t.lost === 0 && t.duplicated === 0, `expected ${t.expected}, lost ${t.lost}, duplicated ${t.duplicated}${t.detail.length ? `: ${t.detail.join('; ')}` : ''}`);
    }
    const incidents = (await listIncidents(ops.store.db, { limit: 1_000 })).filter((i) => i.type === N8N_WORKFLOW_FAILURES);
    const subjects = incidents.map((i) => i.subject ?? '');
    check(
      'n8n failure incidents: one per failing workflow',
      FAILING_N8N.every((wf) => subjects.includes(wf)) && new Set(subjects).size === subjects.length,
      `${incidents.length} incidents for ${FAILING_N8N.length} failing workflows`,
    );
    const sent = (await listNotifications(ops.store.db, { limit: 1_000 })).filter((n) => n.status === 'sent').length;
    // The digest and the call at least; each notification the store calls sent reached a provider once.
    check('messages went out, none twice', sent >= 2 && comms.received() === sent, `${comms.received()} delivered by the providers' fakes, ${sent} notifications sent`);
    check('the worker is still running', workerExit === undefined, workerExit ? `exited ${workerExit}` : 'running');
    exitCode = checks.every((c) => c.ok) ? 0 : 1;
  } catch (err) {
    check('the scenario ran to its end', false, (err as Error).message);
    progress(`worker log (end):\n${tail(workerLog)}`);
  } finally {
    await ops.close().catch(() => undefined);
    worker.kill('SIGTERM');
    await Promise.race([new Promise((r) => worker.once('exit', r)), sleep(10_000)]);
    await server.stop();
    await Promise.all([...fakes.map((f) => f.close()), comms.close()]);
  }
  figure('total', secs(Date.now() - began));
  // Its logs stay for a look when something failed.
  if (exitCode === 0) rmSync(dir, { recursive: true, force: true });
  else figure('logs (server, setup, worker)', dir);
  report(exitCode);
  process.exit(exitCode);
}

/** The arguments of the image's `CMD ["node", ...]` (the Dockerfile's last CMD), run from the repo as from /app. */
function imageCommand(repo: string): string[] {
  const cmd = readFileSync(join(repo, 'Dockerfile'), 'utf8')
    .split('\n')
    .filter((line) => /^CMD\s/.test(line))
    .at(-1);
  const argv = cmd ? (JSON.parse(cmd.replace(/^CMD\s+/, '')) as unknown) : undefined;
  if (!Array.isArray(argv) || argv[0] !== 'node' || argv.length < 2) throw new Error(`the Dockerfile's CMD is not ["node", ...]: ${cmd ?? 'none'}`);
  return argv.slice(1) as string[];
}

/**
 * The worker's healthcheck command from docker-compose.yml, run as Docker runs it (`node -e`),
 * against this worker's HTTP port.
 */
function composeHealthcheck(repo: string, port: number): { ok: boolean; detail: string } {
  const compose = parseYaml(readFileSync(join(repo, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { healthcheck?: { test?: string[] } }> };
  const [kind, command, flag, script] = compose.services.worker?.healthcheck?.test ?? [];
  if (kind !== 'CMD' || command !== 'node' || flag !== '-e' || !script?.includes('127.0.0.1:8787/readyz')) {
    return { ok: false, detail: 'docker-compose.yml has no `node -e` healthcheck on 127.0.0.1:8787/readyz for the worker' };
  }
  const result = spawnSync(process.execPath, ['-e', script.replace('127.0.0.1:8787', `127.0.0.1:${port}`)], { encoding: 'utf8', timeout: 10_000 });
  return { ok: result.status === 0, detail: `node -e <compose healthcheck> exited ${result.status ?? result.signal}` };
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function report(exitCode: number): void {
  const width = Math.max(...figures.map(([n]) => n.length));
  const out = [
    '',
    'test:production: Temporal v1.29.1 on PostgreSQL (deploy/temporal-server.yaml), worker from dist/ with the prebuilt bundle',
    ...figures.map(([n, v]) => `  ${n.padEnd(width)}  ${v}`),
    '',
    ...checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    '',
    exitCode === 0 ? `all ${checks.length} checks passed` : `${checks.filter((c) => !c.ok).length} of ${checks.length} checks FAILED`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
