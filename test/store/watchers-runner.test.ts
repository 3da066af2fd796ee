/**
 * The watcher runner on SQLite and PostgreSQL: findings become incidents through the lifecycle
 * (one open per type and subject, a recurrence counted on it), cleared subjects are resolved with
 * the watcher's reason, a later streak opens a new incident, and a watcher that throws resolves
 * nothing and leaves the others alone. The clock is injected (deps.now).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { expect, it } from 'vitest';
import { createChannels } from '../../src/activities/channels';
import { createNotifier } from '../../src/activities/notify';
import { repeatedFailures } from '../../src/activities/watchers/repeated-failures';
import { createWatcherActivities, WATCHER_ACTOR } from '../../src/activities/watchers/runner';
import { WATCHERS } from '../../src/activities/watchers/table';
import type { Watcher, WatcherFinding } from '../../src/activities/watchers/types';
import { configSchema } from '../../src/config';
import { createLogger } from '../../src/logger';
import { insertAudit, listIncidents, listOpenIncidents } from '../../src/store';
import { forEachStore } from './fixtures';

const MIN = 60_000;

forEachStore((store) => {
  let clock = new Date('2026-03-01T09:00:00.000Z');
  const setup = (watchers: readonly Watcher[]) => {
    const config = configSchema.parse({ dataDir: mkdtempSync(join(tmpdir(), 'ops-runner-')) });
    const deps = { config, store: store(), client: undefined as unknown as Client, logger: createLogger('silent'), now: () => clock };
    // WARN and INFO wait for the digest: the router records them in-process, no Temporal needed.
    return createWatcherActivities(deps, createNotifier(deps, createChannels(config, deps.logger)), watchers);
  };
  const scripted = (type: string, findings: () => WatcherFinding[]): Watcher => ({
    name: type,
    incidentType: type,
    check: async () => ({ findings: findings(), summary: `${findings().length} found`, cleared: 'under the test threshold' }),
  });
  const finding = (subject: string, severity: WatcherFinding['severity'] = 'INFO'): WatcherFinding => ({ subject, severity, title: `${subject} over`, body: 'figures' });

  it('a second run raises no second incident: the recurrence is counted on the open one (severity the worse)', async () => {
    let found = [finding('api:notion')];
    const acts = setup([scripted('t_dedupe', () => found)]);
    expect(await acts.runWatcher({ name: 't_dedupe' })).toMatchObject({ findings: 1, opened: 1, recurred: 0, resolved: 0 });
    clock = new Date(clock.getTime() + 5 * MIN);
    found = [finding('api:notion', 'WARN')];
    expect(await acts.runWatcher({ name: 't_dedupe' })).toMatchObject({ findings: 1, opened: 0, recurred: 1, resolved: 0 });
    const open = await listOpenIncidents(store().db, { type: 't_dedupe' });
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ subject: 'api:notion', occurrences: 2, severity: 'WARN', status: 'open' });
  });

  it('auto-resolve when the figure falls back, with who and why; a later streak opens a new incident', async () => {
    let found = [finding('job:a', 'WARN'), finding('job:b', 'WARN')];
    const acts = setup([scripted('t_resolve', () => found)]);
    await acts.runWatcher({ name: 't_resolve' });
    clock = new Date(clock.getTime() + 5 * MIN);
    found = [finding('job:b', 'WARN')];
    expect(await acts.runWatcher({ name: 't_resolve' })).toMatchObject({ opened: 0, recurred: 1, resolved: 1 });
    const all = await listIncidents(store().db, { limit: 100 });
    const a = all.filter((i) => i.type === 't_resolve' && i.subject === 'job:a');
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ status: 'resolved', resolved_by: WATCHER_ACTOR, resolved_at: clock.toISOString() });
    expect(a[0]!.resolved_reason).toBe('t_resolve: under the test threshold (1 found)');
    clock = new Date(clock.getTime() + 5 * MIN);
    found = [finding('job:a', 'WARN'), finding('job:b', 'WARN')];
    expect(await acts.runWatcher({ name: 't_resolve' })).toMatchObject({ opened: 1, recurred: 1, resolved: 0 });
    const open = await listOpenIncidents(store().db, { type: 't_resolve' });
    expect(open.map((i) => i.subject).sort()).toEqual(['job:a', 'job:b']);
    expect(open.find((i) => i.subject === 'job:a')!.id).not.toBe(a[0]!.id);
    clock = new Date(clock.getTime() + 5 * MIN);
    found = [];
    expect(await acts.runWatcher({ name: 't_resolve' })).toMatchObject({ resolved: 2 });
    expect(await listOpenIncidents(store().db, { type: 't_resolve' })).toEqual([]);
  });

  it('a watcher that throws resolves nothing of its own and leaves the others to report', async () => {
    let broken = false;
    const flaky: Watcher = {
      name: 't_flaky',
      incidentType: 't_flaky',
      check: async () => {
        if (broken) throw new Error('relation "api_request_windows" does not exist');
        return { findings: [finding('store:x', 'WARN')], summary: 'slow' };
      },
    };
    const acts = setup([flaky, scripted('t_other', () => [finding('send:sms', 'WARN')])]);
    await acts.runWatcher({ name: 't_flaky' });
    broken = true;
    const settled = await Promise.allSettled([acts.runWatcher({ name: 't_flaky' }), acts.runWatcher({ name: 't_other' })]);
    expect(settled[0]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringContaining('does not exist') }) });
    expect(settled[1]).toMatchObject({ status: 'fulfilled', value: expect.objectContaining({ opened: 1 }) });
    expect(await listOpenIncidents(store().db, { type: 't_flaky' })).toHaveLength(1);
  });

  it('a real watcher through the runner: 3 failed runs open repeated_failures, 30 min on it resolves with its figure', async () => {
    const acts = setup([repeatedFailures]);
    const start = clock.getTime();
    for (const m of [3, 2, 1]) {
      await insertAudit(store().db, { ts: new Date(start - m * MIN).toISOString(), action: 'sync_hubspot', action_type: 'system', success: 0, outcome: 'failed' });
    }
    expect(await acts.runWatcher({ name: 'repeated_failures' })).toMatchObject({ findings: 1, opened: 1 });
    clock = new Date(start + 30 * MIN);
    expect(await acts.runWatcher({ name: 'repeated_failures' })).toMatchObject({ findings: 0, resolved: 1 });
    const [row] = (await listIncidents(store().db, { limit: 100 })).filter((i) => i.type === 'repeated_failures' && i.subject === 'job:sync_hubspot');
    expect(row).toMatchObject({ status: 'resolved', resolved_by: 'run_watchers', job: 'sync_hubspot' });
    expect(row!.resolved_reason).toContain('repeated_failures: under 3 failures in the last 30 min');
  });

  it('input is checked: an unknown watcher name, a finding without a subject, two watchers of one name', async () => {
    const acts = setup([scripted('t_bad', () => [{ ...finding(''), subject: '' }])]);
    await expect(acts.runWatcher({ name: 'nope' })).rejects.toThrow('runWatcher: unknown watcher "nope"; expected one of t_bad');
    await expect(acts.runWatcher({ name: 't_bad' })).rejects.toThrow('watcher t_bad returned a finding without a subject of 1 to');
    expect(await listOpenIncidents(store().db, { type: 't_bad' })).toEqual([]);
    expect(() => setup([scripted('twice', () => []), scripted('twice', () => [])])).toThrow('Two watchers are named "twice"');
  });
});

it('the table runs the spec four (and every name is unique)', () => {
  const names = WATCHERS.map((w) => w.name);
  expect(names).toEqual(expect.arrayContaining(['repeated_failures', 'rate_limits', 'cost_anomalies', 'performance']));
  expect(new Set(names).size).toBe(names.length);
});
