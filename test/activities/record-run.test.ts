/**
 * recordRun is retried until the store answers (a store outage), so a retry after a partial
 * failure must leave exactly what one try would: one audit row, one dead letter, one incident,
 * one notification, on SQLite and PostgreSQL.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { expect, it } from 'vitest';
import { createChannels } from '../../src/activities/channels';
import { createFrameworkActivities, type RunRecord, type RunRecorded } from '../../src/activities/framework';
import { createNotifier } from '../../src/activities/notify';
import { configSchema } from '../../src/config';
import type { JobName } from '../../src/jobs';
import { createLogger } from '../../src/logger';
import { listAudit, listDeadLetters, listIncidents, listNotifications, resolveIncidentsOf } from '../../src/store';
import { forEachStore } from '../store/fixtures';

const NOW = new Date('2026-11-23T14:00:00.000Z');

forEachStore((store) => {
  /** The activities' clock: a test moves it (time windows are never waited for). */
  let clock = NOW.getTime();
  /** Alerts that do not wait for the digest start a delivery workflow: recorded here instead. */
  const started: { workflowId: string; severity: string; type: string }[] = [];
  const client = {
    workflow: {
      start: async (_type: string, options: { workflowId: string; args: [{ severity: string; type: string }] }) => {
        started.push({ workflowId: options.workflowId, severity: options.args[0].severity, type: options.args[0].type });
      },
    },
  } as unknown as Client;

  function activities(failRouteTimes: number) {
    const config = configSchema.parse({ dataDir: mkdtempSync(join(tmpdir(), 'ops-record-')) });
    // A WARN alert is held for the digest by the router in-process: no Temporal needed.
    const deps = { config, store: store(), client, logger: createLogger('silent'), now: () => new Date(clock) };
    const notifier = createNotifier(deps, createChannels(config, deps.logger));
    let failures = failRouteTimes;
    const flaky = {
      ...notifier,
      route: async (...args: Parameters<typeof notifier.route>) => {
        // The store went away between the rows and the alert.
        if (failures-- > 0) throw new Error('store went away');
        return notifier.route(...args);
      },
    };
    return createFrameworkActivities(deps, flaky);
  }

  const failedRun = (workflowId: string, job = 'sync_n8n'): RunRecord => ({
    result: { job: job as JobName, workflowId, outcome: 'failed', error: 'Store unavailable: database is locked', category: 'database', durationMs: 12 },
    workflowType: 'sync_n8n',
    input: { trigger: 'schedule' },
    attempts: 2,
  });

  async function rowsOf(workflowId: string) {
    const db = store().db;
    const audit = (await listAudit(db, { limit: 1000 })).filter((r) => r.workflow_id === workflowId);
    const letters = (await listDeadLetters(db, { limit: 1000 })).filter((l) => l.workflow_id === workflowId);
    const incidents = (await listIncidents(db, { limit: 1000 })).filter((i) => i.related_workflow_id === workflowId && i.type === 'dead_letter');
    const keys = new Set(incidents.map((i) => `incident:${i.id}`));
    const notifications = (await listNotifications(db, { limit: 1000 })).filter((n) => keys.has(n.idempotency_key));
    return { audit, letters, incidents, notifications };
  }

  it('a retry after the rows were written but the alert was not: one of each, and the alert goes out', async () => {
    const acts = activities(1);
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'rr-partial', runId: 'run-partial-1' } });
    await expect(env.run(acts.recordRun, failedRun('rr-partial'))).rejects.toThrow('store went away');
    const first = (await env.run(acts.recordRun, failedRun('rr-partial'))) as RunRecorded;
    const again = (await env.run(acts.recordRun, failedRun('rr-partial'))) as RunRecorded;
    expect(again.deadLetterId).toBe(first.deadLetterId);
    const rows = await rowsOf('rr-partial');
    expect(rows.audit).toHaveLength(1);
    expect(rows.audit[0]).toMatchObject({ action: 'sync_n8n', outcome: 'failed', run_id: 'run-partial-1' });
    expect(rows.letters.map((l) => l.id)).toEqual([first.deadLetterId]);
    expect(rows.letters[0]).toMatchObject({ category: 'database', status: 'open' });
    expect(rows.incidents).toHaveLength(1);
    expect(rows.notifications).toHaveLength(1);
    expect(rows.notifications[0]).toMatchObject({ status: 'held' });
  });

  it('a second run under the same workflow id is a run of its own: counted on the open incident', async () => {
    // Past the hourly alert window of the test before's dead letter.
    clock = NOW.getTime() + 2 * 3600_000;
    const acts = activities(0);
    for (const runId of ['run-reused-1', 'run-reused-2']) {
      const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'rr-reused', runId } });
      await env.run(acts.recordRun, failedRun('rr-reused', 'rr_reused_job'));
      await env.run(acts.recordRun, failedRun('rr-reused', 'rr_reused_job'));
    }
    const rows = await rowsOf('rr-reused');
    expect(rows.audit.map((r) => r.run_id).sort()).toEqual(['run-reused-1', 'run-reused-2']);
    expect(rows.letters).toHaveLength(2);
    expect(rows.incidents).toHaveLength(1);
    expect(rows.incidents[0]).toMatchObject({ occurrences: 2, subject: 'rr_reused_job', status: 'open' });
    expect(rows.notifications).toHaveLength(1);
  });

  /** Records one run of `job` under its own workflow and run id, at the clock's time. */
  function recorder(acts: ReturnType<typeof activities>, job: string) {
    let n = 0;
    return (outcome: 'failed' | 'succeeded', category = 'internal', workflowId = `${job}-${++n}`, runId = `${workflowId}-run`) =>
      new MockActivityEnvironment({ workflowExecution: { workflowId, runId } }).run(acts.recordRun, {
        result: { job: job as JobName, workflowId, outcome, ...(outcome === 'failed' ? { error: `boom ${n}`, category } : {}), durationMs: 5 },
        workflowType: job,
        input: { trigger: 'schedule' },
      } satisfies RunRecord) as Promise<RunRecorded>;
  }
  const openOf = async (type: string, job: string) =>
    (await listIncidents(store().db, { limit: 1000 })).filter((i) => i.type === type && i.subject === job && i.status === 'open');

  it('48 failures a day (every 30 minutes) make one open dead_letter incident with 48 occurrences and one alert', async () => {
    clock = Date.parse('2026-11-24T00:00:00.000Z');
    const acts = activities(0);
    const record = recorder(acts, 'sync_hubspot');
    for (let i = 0; i < 48; i++) {
      await record('failed', 'external_api');
      clock += 30 * 60_000;
    }
    const [incident, ...more] = await openOf('dead_letter', 'sync_hubspot');
    expect(more).toHaveLength(0);
    expect(incident).toMatchObject({ occurrences: 48, job: 'sync_hubspot', severity: 'WARN' });
    const notes = (await listNotifications(store().db, { limit: 1000 })).filter((n) => n.incident_id === incident!.id);
    expect(notes).toHaveLength(1);
    // The streak alert, once too.
    expect(await openOf('consecutive_failures', 'sync_hubspot')).toMatchObject([{ occurrences: 46 }]);
  });

  it('severities follow the error table: transient INFO then WARN from the 3rd failure; validation INFO; database WARN; auth WARN at once', async () => {
    clock = Date.parse('2026-11-25T00:00:00.000Z');
    const acts = activities(0);
    const severityAfter = async (job: string, category: string, failures: number) => {
      const record = recorder(acts, job);
      const seen: string[] = [];
      for (let i = 0; i < failures; i++) {
        await record('failed', category);
        seen.push((await openOf('dead_letter', job))[0]!.severity);
      }
      return seen;
    };
    expect(await severityAfter('sev_transient', 'transient', 3)).toEqual(['INFO', 'INFO', 'WARN']);
    expect(await severityAfter('sev_external', 'external_api', 3)).toEqual(['INFO', 'INFO', 'WARN']);
    expect(await severityAfter('sev_validation', 'validation', 3)).toEqual(['INFO', 'INFO', 'INFO']);
    expect(await severityAfter('sev_database', 'database', 1)).toEqual(['WARN']);
    expect(await severityAfter('sev_auth', 'auth', 1)).toEqual(['WARN']);
    expect(await openOf('auth_failure', 'sev_auth')).toMatchObject([{ severity: 'WARN', title: 'sev_auth: auth error, not retried' }]);
  });

  it('a failed health_monitor run alerts SEV1 at once, as do the digest and the call, even within the hour of a less urgent dead letter', async () => {
    clock = Date.parse('2026-11-26T00:00:00.000Z');
    const acts = activities(0);
    await recorder(acts, 'urgent_other')('failed', 'validation');
    clock += 60_000;
    started.length = 0;
    for (const job of ['health_monitor', 'daily_digest']) await recorder(acts, job)('failed', 'validation');
    const [health] = await openOf('dead_letter', 'health_monitor');
    const [digest] = await openOf('dead_letter', 'daily_digest');
    expect(health).toMatchObject({ severity: 'SEV1' });
    expect(digest).toMatchObject({ severity: 'SEV1' });
    // Both urgent: the second SEV1 dead letter within the hour is recorded, not alerted again.
    expect(started).toEqual([{ workflowId: `notify-incident-${health!.id}`, severity: 'SEV1', type: 'dead_letter' }]);
  });

  it('a failed run already alerted straight through a channel (store down) is recorded with its SEV1 incident, not alerted a second time', async () => {
    clock = Date.parse('2026-11-27T00:00:00.000Z');
    const acts = activities(0);
    // Earlier tests left these jobs' dead letters open: a new failure would only count on them.
    await resolveIncidentsOf(store().db, { type: 'dead_letter', subjects: ['health_monitor', 'daily_digest'] }, { actor: 'test', reason: 'a fresh start', now: new Date(clock) });
    started.length = 0;
    const env = new MockActivityEnvironment();
    const run = { ...failedRun('health_monitor-direct', 'health_monitor'), workflowType: 'health_monitor', alertedDirectly: true };
    await env.run(acts.recordRun, run);
    const [incident] = await openOf('dead_letter', 'health_monitor');
    expect(incident).toMatchObject({ severity: 'SEV1', alert_withheld: null, occurrences: 1 });
    expect(started).toEqual([]);
    // Without the direct alert the same failure goes out (the control for the line above).
    clock += 2 * 3600_000;
    await env.run(acts.recordRun, { ...failedRun('daily_digest-store-up', 'daily_digest'), workflowType: 'daily_digest' });
    expect(started.map((s) => s.severity)).toEqual(['SEV1']);
  });

  it('a streak alerts once; a success resolves it; the next streak alerts again; a retried recordRun changes nothing', async () => {
    clock = Date.parse('2026-11-27T00:00:00.000Z');
    const acts = activities(0);
    const job = 'streak_job';
    const record = recorder(acts, job);
    await record('failed');
    await record('failed');
    expect(await openOf('consecutive_failures', job)).toHaveLength(0);
    expect(await record('failed', 'internal', 'rs-third', 'rs-third-1')).toMatchObject({ alertRaised: true, consecutiveFailures: 3 });
    // The same run's bookkeeping, retried: nothing counted twice, no second alert.
    expect(await record('failed', 'internal', 'rs-third', 'rs-third-1')).toMatchObject({ consecutiveFailures: 3 });
    expect(await record('failed')).toMatchObject({ alertRaised: false, consecutiveFailures: 4 });
    const [first] = await openOf('consecutive_failures', job);
    expect(first).toMatchObject({ occurrences: 2, title: `${job} failed 4 times in a row` });
    expect((await openOf('dead_letter', job))[0]).toMatchObject({ occurrences: 4 });

    clock += 10 * 60_000;
    await record('succeeded');
    expect(await openOf('consecutive_failures', job)).toHaveLength(0);
    expect(await openOf('dead_letter', job)).toHaveLength(0);
    const resolved = (await listIncidents(store().db, { limit: 1000 })).find((i) => i.id === first!.id);
    expect(resolved).toMatchObject({ status: 'resolved', resolved_by: 'system' });
    expect(resolved!.resolved_reason).toMatch(/streak_job succeeded/);

    // An hour later (the type's alert window has passed), a second streak alerts again, even when
    // its third run reuses the workflow id of the first streak's alert.
    clock += 61 * 60_000;
    await record('failed');
    await record('failed');
    expect(await record('failed', 'internal', 'rs-third', 'rs-third-2')).toMatchObject({ alertRaised: true, consecutiveFailures: 3 });
    const streaks = (await listIncidents(store().db, { limit: 1000 })).filter((i) => i.type === 'consecutive_failures' && i.subject === job);
    expect(streaks.map((i) => i.status).sort()).toEqual(['open', 'resolved']);
  });

  it('a second streak within the hour of another streak alert is recorded, not alerted (one per type per hour)', async () => {
    clock = Date.parse('2026-11-28T00:00:00.000Z');
    const acts = activities(0);
    const a = recorder(acts, 'window_a');
    const b = recorder(acts, 'window_b');
    for (let i = 0; i < 2; i++) {
      await a('failed');
      await b('failed');
    }
    expect(await a('failed')).toMatchObject({ alertRaised: true });
    clock += 30 * 60_000;
    expect(await b('failed')).toMatchObject({ alertRaised: false, consecutiveFailures: 3 });
    expect(await openOf('consecutive_failures', 'window_b')).toHaveLength(1);
  });
});
