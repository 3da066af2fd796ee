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
import { createLogger } from '../../src/logger';
import { listAudit, listDeadLetters, listIncidents, listNotifications, resolveIncident } from '../../src/store';
import { forEachStore } from '../store/fixtures';

const NOW = new Date('2026-11-23T14:00:00.000Z');

forEachStore((store) => {
  function activities(failRouteTimes: number) {
    const config = configSchema.parse({ dataDir: mkdtempSync(join(tmpdir(), 'ops-record-')) });
    // A WARN alert is held for the digest by the router in-process: no Temporal needed.
    const deps = { config, store: store(), client: undefined as unknown as Client, logger: createLogger('silent'), now: () => NOW };
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

  const failedRun = (workflowId: string): RunRecord => ({
    result: { job: 'sync_n8n', workflowId, outcome: 'failed', error: 'Store unavailable: database is locked', category: 'database', durationMs: 12 },
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

  it('a second run under the same workflow id is a run of its own', async () => {
    const acts = activities(0);
    for (const runId of ['run-reused-1', 'run-reused-2']) {
      const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'rr-reused', runId } });
      await env.run(acts.recordRun, failedRun('rr-reused'));
      await env.run(acts.recordRun, failedRun('rr-reused'));
    }
    const rows = await rowsOf('rr-reused');
    expect(rows.audit.map((r) => r.run_id).sort()).toEqual(['run-reused-1', 'run-reused-2']);
    expect(rows.letters).toHaveLength(2);
    expect(rows.incidents).toHaveLength(2);
    expect(rows.notifications).toHaveLength(2);
  });

  it('a later failure streak is alerted even when its third run reuses the workflow id of an earlier streak alert', async () => {
    const acts = activities(0);
    const job = 'cleanup_old_data';
    const record = (workflowId: string, runId: string, outcome: 'failed' | 'succeeded') =>
      new MockActivityEnvironment({ workflowExecution: { workflowId, runId } }).run(acts.recordRun, {
        result: { job, workflowId, outcome, ...(outcome === 'failed' ? { error: 'boom', category: 'internal' } : {}), durationMs: 5 },
        workflowType: job,
        input: { trigger: 'manual' },
      } satisfies RunRecord) as Promise<RunRecorded>;
    const streakAlerts = async () =>
      (await listIncidents(store().db, { limit: 1000 })).filter((i) => i.type === 'consecutive_failures' && i.job === job);

    await record('rs-a', 'rs-a-1', 'failed');
    await record('rs-b', 'rs-b-1', 'failed');
    expect(await record('rs-reused', 'rs-reused-1', 'failed')).toMatchObject({ alertRaised: true });
    const [first] = await streakAlerts();
    await resolveIncident(store().db, first!.id, NOW);
    await record('rs-ok', 'rs-ok-1', 'succeeded');
    await record('rs-c', 'rs-c-1', 'failed');
    await record('rs-d', 'rs-d-1', 'failed');
    expect(await record('rs-reused', 'rs-reused-2', 'failed')).toMatchObject({ alertRaised: true, consecutiveFailures: 3 });
    const alerts = await streakAlerts();
    expect(alerts).toHaveLength(2);
    expect(alerts.filter((a) => a.status === 'open')).toHaveLength(1);
  });
});
