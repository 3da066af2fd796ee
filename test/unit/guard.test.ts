import { describe, expect, it } from 'vitest';
import { applyControlsChange, parseControlsChange } from '../../src/controls-model';
import { SKIP_REASONS } from '../../src/definitions';
import { isQuietHours, localMinutes } from '../../src/quiet-hours';
import { stopReason } from '../../src/workflows/guard';
import { controlsState } from '../helpers/controls-state';

const base = controlsState();
// 23:30 in Chicago (UTC-6 in November).
const lateEvening = new Date('2026-11-24T05:30:00Z');
const noon = new Date('2026-11-23T18:00:00Z');

describe('pre-checks (the spec beforeJobExecution)', () => {
  it('kill switch stops every job, health_monitor included', () => {
    const c = { ...base, killSwitch: true };
    expect(stopReason('health_monitor', c, noon)).toBe(SKIP_REASONS.killSwitch);
    expect(stopReason('daily_digest', c, noon)).toBe(SKIP_REASONS.killSwitch);
  });

  it('jobs disabled stops all but health_monitor', () => {
    const c = { ...base, jobsEnabled: false };
    expect(stopReason('periodic_scan', c, noon)).toBe(SKIP_REASONS.jobsDisabled);
    expect(stopReason('health_monitor', c, noon)).toBeUndefined();
  });

  it('quiet hours stop ordinary jobs, not emergency ones', () => {
    const c = { ...base, quietHours: { ...base.quietHours, enabled: true } };
    expect(stopReason('periodic_scan', c, lateEvening)).toBe(SKIP_REASONS.quietHours);
    expect(stopReason('health_monitor', c, lateEvening)).toBeUndefined();
    expect(stopReason('cleanup_old_data', c, lateEvening)).toBeUndefined();
    expect(stopReason('periodic_scan', c, noon)).toBeUndefined();
  });

  it('spec prerequisites: write_enabled for syncs and cleanup, comms_enabled for the digest and call', () => {
    expect(stopReason('sync_notion', { ...base, writeEnabled: false }, noon)).toBe(SKIP_REASONS.writesDisabled);
    expect(stopReason('cleanup_old_data', { ...base, writeEnabled: false }, noon)).toBe(SKIP_REASONS.writesDisabled);
    expect(stopReason('daily_digest', { ...base, commsEnabled: false }, noon)).toBe(SKIP_REASONS.commsDisabled);
    expect(stopReason('health_monitor', { ...base, writeEnabled: false, commsEnabled: false }, noon)).toBeUndefined();
  });
});

describe('quiet hours', () => {
  const q = { enabled: true, start: '22:00', end: '07:00', timeZone: 'America/Chicago' };
  it('wraps past midnight, start inclusive, end exclusive, in the given time zone', () => {
    expect(localMinutes(lateEvening, 'America/Chicago')).toBe(23 * 60 + 30);
    expect(isQuietHours(lateEvening, q)).toBe(true);
    expect(isQuietHours(new Date('2026-11-23T12:59:00Z'), q)).toBe(true); // 06:59
    expect(isQuietHours(new Date('2026-11-23T13:00:00Z'), q)).toBe(false); // 07:00
    expect(isQuietHours(new Date('2026-11-24T04:00:00Z'), q)).toBe(true); // 22:00
    expect(isQuietHours(noon, q)).toBe(false);
    expect(isQuietHours(lateEvening, { ...q, enabled: false })).toBe(false);
  });
  it('a same-day window', () => {
    expect(isQuietHours(noon, { ...q, start: '11:00', end: '13:00' })).toBe(true);
  });
});

describe('controls change validation', () => {
  it('names every bad field', () => {
    expect(() => parseControlsChange({ killSwitch: 'on', quietHours: { start: '7pm' }, actor: 'a', reason: 'r' })).toThrow(
      /killSwitch.*quietHours\.start|quietHours\.start.*killSwitch/,
    );
    expect(() => parseControlsChange({ killSwitch: true, actor: 'a' })).toThrow(/reason/);
    expect(() => parseControlsChange({ actor: 'a', reason: 'r' })).toThrow(/changes nothing/);
  });
  it('applies a partial quiet-hours change and bumps the version', () => {
    const next = applyControlsChange(base, parseControlsChange({ quietHours: { enabled: true }, actor: 'a', reason: 'r' }), 'now');
    expect(next.quietHours).toEqual({ ...base.quietHours, enabled: true });
    expect(next).toMatchObject({ version: 2, updatedBy: 'a', reason: 'r', updatedAt: 'now' });
  });
});
