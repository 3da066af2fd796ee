import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger';
import { opsctlFor } from '../helpers/opsctl';
import { startSystem, type TestSystem } from '../helpers/system';

describe('opsctl against a running system', () => {
  let sys: TestSystem;
  let opsctl: ReturnType<typeof opsctlFor>;
  beforeAll(async () => {
    sys = await startSystem();
    await sys.ops.reconcileSchedules(createLogger('silent'));
    opsctl = opsctlFor(sys);
  });
  afterAll(async () => {
    await sys.close();
  });

  it('status --json shows controls, every schedule with next runs, store and Temporal', async () => {
    const r = await opsctl('status', '--json');
    expect(r.code).toBe(0);
    const status = r.json();
    expect(status.temporal.ok).toBe(true);
    expect(status.store).toMatchObject({ ok: true, dialect: 'sqlite' });
    expect(status.controls).toMatchObject({ killSwitch: false, jobsEnabled: true });
    expect(status.schedules).toHaveLength(10);
    const digest = status.schedules.find((s: { job: string }) => s.job === 'daily_digest');
    expect(digest).toMatchObject({ exists: true, paused: false, cadence: 'daily at 08:00 America/Chicago' });
    expect(digest.nextRunTimes.length).toBeGreaterThan(0);
  });

  it('kill on, a run is skipped with the reason, kill off, the run succeeds; audit shows both', async () => {
    expect((await opsctl('kill', 'on', '--reason', 'testing the switch')).code).toBe(0);
    const skipped = await opsctl('run', 'health_monitor', '--wait', '--json');
    expect(skipped.code).toBe(0);
    expect(skipped.json()).toMatchObject({ job: 'health_monitor', outcome: 'skipped', reason: 'Kill switch is active' });
    const off = await opsctl('kill', 'off', '--reason', 'done', '--json');
    expect(off.json()).toMatchObject({ killSwitch: false, updatedBy: 'jonah', reason: 'done' });
    const ran = await opsctl('run', 'health_monitor', '--wait', '--json');
    expect(ran.json()).toMatchObject({ outcome: 'succeeded' });
    expect(ran.json().workflowId).toMatch(/^health_monitor-manual-/);

    const audit = await opsctl('audit', '--job', 'health_monitor', '--since', '1h', '--json');
    expect(audit.json().map((r: { outcome: string }) => r.outcome)).toEqual(['succeeded', 'skipped']);
    const changes = await opsctl('audit', '--job', 'controls.update', '--json');
    expect(changes.json().map((r: { reason: string }) => r.reason)).toEqual(['done', 'testing the switch']);
  });

  it('jobs disable / enable and writes disable go through the controls', async () => {
    expect((await opsctl('jobs', 'disable', '--reason', 'maintenance', '--json')).json()).toMatchObject({ jobsEnabled: false });
    expect((await opsctl('run', 'periodic_scan', '--wait', '--json')).json()).toMatchObject({ outcome: 'skipped', reason: 'Jobs are disabled' });
    expect((await opsctl('jobs', 'enable', '--reason', 'back', '--json')).json()).toMatchObject({ jobsEnabled: true });
    expect((await opsctl('quiet-hours', 'set', '--start', '21:00', '--end', '06:30', '--tz', 'UTC', '--reason', 'r', '--json')).json().quietHours).toEqual({
      enabled: false,
      start: '21:00',
      end: '06:30',
      timeZone: 'UTC',
    });
    const badZone = await opsctl('quiet-hours', 'set', '--start', '21:00', '--end', '06:30', '--tz', 'Mars/Base', '--reason', 'r');
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toContain('quietHours.timeZone');
  });

  it('schedules pause / resume / trigger', async () => {
    expect((await opsctl('schedules', 'pause', 'health_monitor', '--note', 'noisy')).code).toBe(0);
    const list = await opsctl('schedules', 'list', '--json');
    expect(list.json().find((s: { job: string }) => s.job === 'health_monitor')).toMatchObject({ paused: true, note: 'noisy' });
    expect((await opsctl('schedules', 'resume', 'health_monitor')).code).toBe(0);
    expect((await opsctl('schedules', 'trigger', 'cleanup_old_data', '--json')).json()).toEqual({ job: 'cleanup_old_data', action: 'trigger', ok: true });
    const started = await opsctl('run', 'cleanup_old_data', '--json');
    expect(started.code).toBe(0);
    expect(started.json().workflowId).toMatch(/^cleanup_old_data-manual-/);
  });

  it('dlq list, incidents, and a replay of an unknown letter exits 2', async () => {
    expect((await opsctl('dlq', 'list', '--json')).json()).toEqual([]);
    expect(Array.isArray((await opsctl('incidents', '--status', 'open', '--json')).json())).toBe(true);
    const missing = await opsctl('dlq', 'replay', '999');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('No dead letter with id 999');
  });

  it('human output is a table', async () => {
    const r = await opsctl('status');
    expect(r.stdout).toContain('kill switch   off');
    expect(r.stdout).toMatch(/daily_digest\s+daily at 08:00 America\/Chicago\s+active/);
  });
});
