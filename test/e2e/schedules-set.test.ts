/**
 * Cadences changed at run time, against the real Temporal schedules: `opsctl schedules set`
 * changes the schedule's spec at once (next runs follow), audited; reconcile at boot keeps the
 * override with the same config and drops it when the config changes that job's cadence; --default
 * goes back; an approved set_cadence proposal uses the same override; list says whose cadence runs.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApplyProposalActivities } from '../../src/activities/apply-proposal';
import { OpsClient, OpsClientError } from '../../src/client';
import { configSchema } from '../../src/config';
import { createLogger } from '../../src/logger';
import { localMinutes } from '../../src/quiet-hours';
import { overrideOf } from '../../src/schedules/override';
import { reconcileSchedules } from '../../src/schedules/reconcile';
import { decideProposal, listAudit, offerProposal } from '../../src/store';
import { opsctlFor } from '../helpers/opsctl';
import { startSystem, type TestSystem } from '../helpers/system';

const logger = createLogger('silent');

describe('run-time schedule cadences', () => {
  let sys: TestSystem;
  let opsctl: ReturnType<typeof opsctlFor>;
  beforeAll(async () => {
    // No worker: these tests look at schedules, not at the runs they start.
    sys = await startSystem({ startWorker: false });
    await reconcileSchedules(sys.client, sys.config, logger);
    opsctl = opsctlFor(sys);
  });
  afterAll(async () => {
    await sys?.close();
  });

  const describeJob = (job: string) => sys.client.schedule.getHandle(job).describe();
  const setAudit = async (job: string) =>
    (await listAudit(sys.store.db, { job: 'schedules.set' })).filter((r) => JSON.parse(r.input_data ?? '{}').job === job);

  it('set --every changes the spec at once and next runs follow; audited with actor and reason', async () => {
    const before = await describeJob('sync_notion');
    expect(before.spec.intervals?.[0]?.every).toBe(60 * 60_000);
    const r = await opsctl('schedules', 'set', 'sync_notion', '--every', '15m', '--reason', 'busy week', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({
      job: 'sync_notion',
      cadence: 'every 15m',
      source: 'override',
      configured: 'every 60m',
      override: { cadence: { every: '15m' }, configured: { every: '60m' }, actor: 'jonah', reason: 'busy week' },
    });
    const after = await describeJob('sync_notion');
    expect(after.spec.intervals?.[0]?.every).toBe(15 * 60_000);
    const [a, b, c] = after.info.nextActionTimes;
    expect(b!.getTime() - a!.getTime()).toBe(15 * 60_000);
    expect(c!.getTime() - b!.getTime()).toBe(15 * 60_000);
    expect(overrideOf(after)).toMatchObject({ actor: 'jonah', reason: 'busy week' });
    const audit = await setAudit('sync_notion');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'jonah', reason: 'busy week', success: 1, action_type: 'operator' });
    expect(JSON.parse(audit[0]!.input_data!)).toMatchObject({ cadence: { every: '15m' }, before: { every: '1h' }, after: { every: '15m' } });
  });

  it('the override survives a restart: reconcile with the same config keeps it and changes nothing', async () => {
    const report = await reconcileSchedules(sys.client, sys.config, logger);
    expect(report.overridesKept).toEqual(['sync_notion']);
    expect(report.overridesDropped).toEqual([]);
    expect(report.updated).toEqual([]);
    expect(report.unchanged).toContain('sync_notion');
    expect((await describeJob('sync_notion')).spec.intervals?.[0]?.every).toBe(15 * 60_000);
  });

  it('a config that changes that job’s cadence wins at boot: the override is dropped', async () => {
    const changed = configSchema.parse({ ...sys.config, jobs: { sync_notion: { every: '45m' } } });
    const lines: string[] = [];
    const recording = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const report = await reconcileSchedules(sys.client, changed, recording);
    const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 40);
    expect(warning).toMatchObject({
      job: 'sync_notion',
      configured: { every: '45m' },
      override: { cadence: { every: '15m' }, configured: { every: '60m' }, actor: 'jonah' },
      msg: "the config changed sync_notion's cadence since jonah set it at run time: the config wins, the override is dropped",
    });
    expect(report.overridesDropped).toEqual(['sync_notion']);
    expect(report.updated).toEqual(['sync_notion']);
    const d = await describeJob('sync_notion');
    expect(d.spec.intervals?.[0]?.every).toBe(45 * 60_000);
    expect(overrideOf(d)).toBeUndefined();
    // Back to the test's own config: an ordinary update, no override left to keep or drop.
    const back = await reconcileSchedules(sys.client, sys.config, logger);
    expect(back).toMatchObject({ updated: ['sync_notion'], overridesKept: [], overridesDropped: [] });
  });

  it('a config changed to the very cadence of the override still drops the override record', async () => {
    expect((await opsctl('schedules', 'set', 'sync_n8n', '--every', '20m', '--reason', 'r')).code).toBe(0);
    const same = configSchema.parse({ ...sys.config, jobs: { sync_n8n: { every: '20m' } } });
    expect((await reconcileSchedules(sys.client, same, logger)).overridesDropped).toEqual(['sync_n8n']);
    const d = await describeJob('sync_n8n');
    expect(d.spec.intervals?.[0]?.every).toBe(20 * 60_000);
    expect(overrideOf(d)).toBeUndefined();
    await reconcileSchedules(sys.client, sys.config, logger);
  });

  it('set --at runs daily at that time in the configured zone; a pause and its note stay', async () => {
    expect((await opsctl('schedules', 'pause', 'periodic_scan', '--reason', 'quiet')).code).toBe(0);
    const r = await opsctl('schedules', 'set', 'periodic_scan', '--at', '07:30', '--reason', 'once a day is enough', '--actor', 'ana');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/periodic_scan: now daily at 07:30 America\/Chicago \(run-time override by ana; configured: every 30m\)/);
    const d = await describeJob('periodic_scan');
    expect(d.spec.intervals ?? []).toEqual([]);
    expect(d.state).toMatchObject({ paused: true, note: 'quiet (jonah)' });
    for (const t of d.info.nextActionTimes) expect(localMinutes(t, 'America/Chicago')).toBe(7 * 60 + 30);
  });

  it('list shows the cadence in effect and its source, as a table and with --json', async () => {
    const human = await opsctl('schedules', 'list');
    expect(human.code).toBe(0);
    const line = (job: string) => human.stdout.split('\n').find((l) => l.startsWith(`${job} `)) ?? '';
    expect(human.stdout.split('\n')[0]).toMatch(/^job\s+cadence\s+state\s+next runs .*\s+last\s+cadence from$/);
    expect(line('periodic_scan')).toMatch(/daily at 07:30 America\/Chicago\s+paused \(quiet \(jonah\)\).*\s+set by ana \(default: every 30m\)$/);
    expect(line('daily_digest')).toMatch(/daily at 08:00 America\/Chicago\s+active\s.*\scatalogue$/);
    const json = (await opsctl('schedules', 'list', '--json')).json() as { job: string; source: string; cadence: string }[];
    expect(json.find((s) => s.job === 'periodic_scan')).toMatchObject({ source: 'override', cadence: 'daily at 07:30 America/Chicago' });
    expect(json.find((s) => s.job === 'sync_hubspot')).toMatchObject({ source: 'catalogue' });
    // A configured job says config (this client's config sets one).
    const configured = configSchema.parse({ ...sys.config, jobs: { cleanup_old_data: { every: '12h' } } });
    expect((await reconcileSchedules(sys.client, configured, logger)).overridesKept).toEqual(['periodic_scan']);
    const ops = new OpsClient(sys.client, sys.store, configured);
    const cleanup = (await ops.listSchedules()).find((s) => s.job === 'cleanup_old_data');
    expect(cleanup).toMatchObject({ source: 'config', cadence: 'every 12h', configured: 'every 12h' });
    await reconcileSchedules(sys.client, sys.config, logger);
  });

  it('set --default goes back to the configured cadence, audited', async () => {
    const r = await opsctl('schedules', 'set', 'periodic_scan', '--default', '--reason', 'back to normal', '--json');
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ source: 'catalogue', cadence: 'every 30m', paused: true });
    const d = await describeJob('periodic_scan');
    expect(d.spec.intervals?.[0]?.every).toBe(30 * 60_000);
    expect(overrideOf(d)).toBeUndefined();
    const rows = await setAudit('periodic_scan');
    expect(JSON.parse(rows[0]!.input_data!)).toMatchObject({ default: true, after: { every: '30m' } });
    expect(rows[0]).toMatchObject({ reason: 'back to normal', actor: 'jonah' });
    expect((await reconcileSchedules(sys.client, sys.config, logger)).updated).toEqual([]);
    await sys.ops.resumeSchedule('periodic_scan', { actor: 't', reason: 'r' });
  });

  it('a bad cadence through the client changes nothing and writes no audit row', async () => {
    const before = (await describeJob('sync_hubspot')).spec;
    const rows = (await setAudit('sync_hubspot')).length;
    await expect(sys.ops.setScheduleCadence('sync_hubspot', { every: '5s' }, { actor: 'a', reason: 'r' })).rejects.toThrow(OpsClientError);
    await expect(sys.ops.setScheduleCadence('sync_hubspot', { at: '25:00' }, { actor: 'a', reason: 'r' })).rejects.toThrow(/at: "25:00" is not a time HH:MM/);
    await expect(sys.ops.setScheduleCadence('sync_hubspot', { every: '1h', at: '07:00' } as never, { actor: 'a', reason: 'r' })).rejects.toThrow(/exactly one of/);
    await expect(sys.ops.setScheduleCadence('nope', { every: '1h' }, { actor: 'a', reason: 'r' })).rejects.toThrow(/Unknown job "nope"/);
    await expect(sys.ops.setScheduleCadence('sync_hubspot', { every: '1h' }, { actor: 'a', reason: '' })).rejects.toThrow(/reason/);
    expect((await describeJob('sync_hubspot')).spec).toEqual(before);
    expect(await setAudit('sync_hubspot')).toHaveLength(rows);
  });

  it('a client whose config is not the one the schedules were set up from is refused, and nothing changes', async () => {
    const before = await describeJob('sync_notion');
    const rows = (await setAudit('sync_notion')).length;
    const who = { actor: 'a', reason: 'r' };
    const otherQueue = new OpsClient(sys.client, sys.store, configSchema.parse({ ...sys.config, temporal: { ...sys.config.temporal, taskQueue: 'elsewhere' } }));
    await expect(otherQueue.setScheduleCadence('sync_notion', { every: '15m' }, who)).rejects.toThrow(/set up from another configuration than this one.*nothing changed/);
    const otherCadence = new OpsClient(sys.client, sys.store, configSchema.parse({ ...sys.config, jobs: { sync_notion: { every: '2h' } } }));
    await expect(otherCadence.clearScheduleCadence('sync_notion', who)).rejects.toThrow(OpsClientError);
    const after = await describeJob('sync_notion');
    expect(after.spec).toEqual(before.spec);
    expect(after.action).toEqual(before.action);
    expect(await setAudit('sync_notion')).toHaveLength(rows);
  });

  it('an approved set_cadence proposal uses the same override: list says proposal, --default undoes it', async () => {
    const offer = await offerProposal(
      sys.store.db,
      {
        kind: 'test',
        subject: 'cadence',
        title: 't',
        rationale: 'r',
        evidence: [],
        confidence: 0.9,
        action: { kind: 'set_cadence', job: 'sync_hubspot', every: '2h' },
        now: new Date(),
      },
      { perHour: 100, coolDownMs: 0, expiresAfterMs: 3600_000 },
    );
    if (!offer.created) throw new Error(`not created: ${offer.why}`);
    await decideProposal(sys.store.db, offer.id, 'approve', { actor: 'operator', reason: 'rate limits', now: new Date() });
    const acts = createApplyProposalActivities({ config: sys.config, store: sys.store, client: sys.client, logger, now: () => new Date() });
    expect(await acts.applyProposalAction({ proposalId: offer.id })).toBe('sync_hubspot now runs every 2h');
    // A retried activity changes nothing twice.
    expect(await acts.applyProposalAction({ proposalId: offer.id })).toBe('sync_hubspot already runs every 2h');
    expect((await setAudit('sync_hubspot')).filter((r) => r.actor === 'system')).toHaveLength(1);
    const status = (await sys.ops.listSchedules()).find((s) => s.job === 'sync_hubspot');
    expect(status).toMatchObject({ source: 'proposal', cadence: 'every 2h', override: { proposal: offer.id, reason: 'rate limits' } });
    const human = await opsctl('schedules', 'list');
    expect(human.stdout).toMatch(new RegExp(`sync_hubspot\\s+every 2h\\s+active\\s.*\\sproposal #${offer.id} \\(default: every 60m\\)\n`));
    expect((await reconcileSchedules(sys.client, sys.config, logger)).overridesKept).toEqual(['sync_hubspot']);
    const unset = await opsctl('schedules', 'unset', 'sync_hubspot', '--reason', 'rate limits are fine again');
    expect(unset.stdout).toBe('sync_hubspot: back to its catalogue cadence, every 60m\n');
    expect((await describeJob('sync_hubspot')).spec.intervals?.[0]?.every).toBe(60 * 60_000);
    expect(overrideOf(await describeJob('sync_hubspot'))).toBeUndefined();
  });
});
