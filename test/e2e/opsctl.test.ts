import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger';
import { listAudit } from '../../src/store';
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
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const status = r.json();
    expect(status.temporal.ok).toBe(true);
    expect(status.store).toMatchObject({ ok: true, dialect: 'sqlite' });
    expect(status.controls).toMatchObject({ killSwitch: false, jobsEnabled: true });
    expect(status.schedules).toHaveLength(10);
    const digest = status.schedules.find((s: { job: string }) => s.job === 'daily_digest');
    expect(digest).toMatchObject({ exists: true, paused: false, cadence: 'daily at 08:00 America/Chicago' });
    expect(digest.nextRunTimes.length).toBeGreaterThan(0);
    const none = { open: 0, acknowledged: 0 };
    expect(status.incidents).toEqual({ SEV0: none, SEV1: none, WARN: none, INFO: none });
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

  it('schedules pause / resume / trigger take who and why, and each writes an audit row', async () => {
    const refused = await opsctl('schedules', 'pause', 'health_monitor');
    expect(refused).toMatchObject({ code: 2 });
    expect(refused.stderr).toContain('schedules pause needs --reason');
    expect((await opsctl('schedules', 'list', '--json')).json().find((s: { job: string }) => s.job === 'health_monitor')).toMatchObject({ paused: false });

    expect((await opsctl('schedules', 'pause', 'health_monitor', '--reason', 'noisy', '--actor', 'ana')).code).toBe(0);
    const list = await opsctl('schedules', 'list', '--json');
    expect(list.json().find((s: { job: string }) => s.job === 'health_monitor')).toMatchObject({ paused: true, note: 'noisy (ana)' });
    expect((await opsctl('schedules', 'resume', 'health_monitor', '--reason', 'quiet again')).code).toBe(0);
    expect((await opsctl('schedules', 'trigger', 'cleanup_old_data', '--reason', 'clean now', '--json')).json()).toEqual({
      job: 'cleanup_old_data',
      action: 'trigger',
      ok: true,
      actor: 'jonah',
      reason: 'clean now',
    });
    const rows = await listAudit(sys.store.db, { limit: 100 });
    const operator = rows.filter((r) => r.action.startsWith('schedules.')).reverse();
    expect(operator.map(({ action, action_type, success, actor, reason, input_data }) => ({ action, action_type, success, actor, reason, input_data }))).toEqual([
      { action: 'schedules.pause', action_type: 'operator', success: 1, actor: 'ana', reason: 'noisy', input_data: '{"job":"health_monitor"}' },
      { action: 'schedules.resume', action_type: 'operator', success: 1, actor: 'jonah', reason: 'quiet again', input_data: '{"job":"health_monitor"}' },
      { action: 'schedules.trigger', action_type: 'operator', success: 1, actor: 'jonah', reason: 'clean now', input_data: '{"job":"cleanup_old_data"}' },
    ]);
    // opsctl audit shows them by action.
    const audited = await opsctl('audit', '--job', 'schedules.pause', '--json');
    expect(audited.json().map((r: { actor: string; reason: string }) => [r.actor, r.reason])).toEqual([['ana', 'noisy']]);
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

  it('a program gets the same: OpsClient refuses a schedule change without who and why, and audits a failed one', async () => {
    await expect(sys.ops.pauseSchedule('health_monitor', { actor: 'bot', reason: ' ' })).rejects.toThrow(/reason: say why/);
    await expect(sys.ops.pauseSchedule('health_monitor', { actor: 'bot', reason: 'x'.repeat(501) })).rejects.toThrow(/at most 500/);
    await expect(sys.ops.pauseSchedule('health_monitor', { actor: 'bot\u001b[2J', reason: 'r' })).rejects.toThrow(/actor/);
    await expect(sys.ops.audit({ since: new Date(Number.NaN) })).rejects.toThrow(/since: not a valid date/);
    await expect(sys.ops.startJob('health_monitor', { params: { limit: 5 } })).rejects.toThrow(/unknown param "limit" for health_monitor; health_monitor takes no params/);
    expect((await sys.client.schedule.getHandle('health_monitor').describe()).state.paused).toBe(false);
    // A schedule that does not exist: the failure is audited as such, and reaches the caller.
    await sys.client.schedule.getHandle('morning_call').delete();
    await expect(sys.ops.triggerSchedule('morning_call', { actor: 'bot', reason: 'try' })).rejects.toThrow();
    const [row] = await listAudit(sys.store.db, { job: 'schedules.trigger', limit: 1 });
    expect(row).toMatchObject({ success: 0, actor: 'bot', reason: 'try', input_data: '{"job":"morning_call"}' });
    await sys.ops.reconcileSchedules(createLogger('silent'));
  });

  it('allowlist add / remove write an audit row with who and why', async () => {
    expect((await opsctl('allowlist', 'add', '+15550001111', '--reason', 'my phone', '--label', 'me')).code).toBe(0);
    // Already listed: nothing changes, so no row.
    expect((await opsctl('allowlist', 'add', '+15550001111', '--reason', 'again')).code).toBe(0);
    expect((await opsctl('allowlist', 'remove', '+15550001111', '--reason', 'lost it', '--actor', 'ana')).code).toBe(0);
    const rows = (await listAudit(sys.store.db, { limit: 100 })).filter((r) => r.action.startsWith('allowlist.')).reverse();
    expect(rows.map(({ action, action_type, actor, reason, input_data }) => ({ action, action_type, actor, reason, input_data }))).toEqual([
      { action: 'allowlist.add', action_type: 'operator', actor: 'jonah', reason: 'my phone', input_data: '{"kind":"phone","address":"+15550001111","label":"me"}' },
      { action: 'allowlist.remove', action_type: 'operator', actor: 'ana', reason: 'lost it', input_data: '{"kind":"phone","address":"+15550001111","label":"me"}' },
    ]);
  });

  it('human output is a table', async () => {
    const r = await opsctl('status');
    expect(r.stdout).toContain('kill switch   off');
    expect(r.stdout).toMatch(/daily_digest\s+daily at 08:00 America\/Chicago\s+active/);
    expect(r.stdout).toMatch(/^Incidents (none open|SEV0 \d+)/m);
  });
});
