/**
 * With the README's example config (quiet hours 22:00-07:00), the 06:00 morning call rings: it is
 * the operator's own booked alarm, and quiet hours hold back alerts, not the call they scheduled.
 * Quiet hours still hold everything else back, and run_watchers (whose incidents wait for the
 * digest) keeps running through them.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config';
import { SKIP_REASONS } from '../../src/definitions';
import { gate } from '../../src/notifications/routing';
import { isQuietHours } from '../../src/quiet-hours';
import { resolveSchedules } from '../../src/schedules/table';
import { stopReason } from '../../src/workflows/guard';
import { OPERATOR_CHAT, OPERATOR_PHONE, startCommsFakes, type CommsFakes } from '../helpers/comms';
import { controlsState } from '../helpers/controls-state';
import { startSystem, type TestSystem } from '../helpers/system';

const dir = mkdtempSync(join(tmpdir(), 'ops-quiet-call-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The README's example config file, as a user would copy it. */
function readmeExampleConfig(): Config {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('quietHours'));
  if (!block) throw new Error('the README has no example config with quiet hours');
  const path = join(dir, 'readme-example.yaml');
  writeFileSync(path, block);
  return loadConfig({ OPS_CONFIG: path });
}

const example = readmeExampleConfig();
const morningCallAt = resolveSchedules(example).find((r) => r.job === 'morning_call')!.cadence;

/** The morning call's time today in the example's time zone, as an instant (November: Chicago is UTC-6). */
const SIX_AM_CHICAGO = new Date('2026-11-27T12:00:00Z');

describe("the README's example config at the morning call's time", () => {
  const controls = { ...controlsState(), quietHours: example.controls.quietHours };

  it('the call is booked inside the quiet hours (the clash this test is about)', () => {
    expect(example.controls.quietHours).toMatchObject({ enabled: true, start: '22:00', end: '07:00', timeZone: 'America/Chicago' });
    expect(morningCallAt).toEqual({ at: '06:00' });
    expect(isQuietHours(SIX_AM_CHICAGO, example.controls.quietHours)).toBe(true);
  });

  it('the guard lets the morning call and run_watchers run, and still holds the other jobs back', () => {
    expect(stopReason('morning_call', controls, SIX_AM_CHICAGO)).toBeUndefined();
    expect(stopReason('run_watchers', controls, SIX_AM_CHICAGO)).toBeUndefined();
    expect(stopReason('daily_digest', controls, SIX_AM_CHICAGO)).toBe(SKIP_REASONS.quietHours);
    expect(stopReason('periodic_scan', controls, SIX_AM_CHICAGO)).toBe(SKIP_REASONS.quietHours);
    expect(stopReason('sync_notion', controls, SIX_AM_CHICAGO)).toBe(SKIP_REASONS.quietHours);
  });

  it('the router rings the call and sends its fallback text, and still holds other messages back', () => {
    expect(gate({ severity: 'INFO', deliver: 'call', type: 'morning_call' }, controls, SIX_AM_CHICAGO)).toBeUndefined();
    expect(gate({ severity: 'INFO', deliver: 'text', type: 'morning_call_text' }, controls, SIX_AM_CHICAGO)).toBeUndefined();
    expect(gate({ severity: 'INFO', deliver: 'text', type: 'daily_digest' }, controls, SIX_AM_CHICAGO)).toEqual({ stop: 'suppressed', reason: SKIP_REASONS.quietHours });
    // The kill switch and comms off still silence the call.
    expect(gate({ severity: 'INFO', deliver: 'call', type: 'morning_call' }, { ...controls, killSwitch: true }, SIX_AM_CHICAGO)).toMatchObject({ stop: 'suppressed' });
    expect(gate({ severity: 'INFO', deliver: 'call', type: 'morning_call' }, { ...controls, commsEnabled: false }, SIX_AM_CHICAGO)).toMatchObject({ stop: 'suppressed' });
  });
});

/**
 * A fixed-offset zone where the present moment is about 06:00, so the real workflow clock is at the
 * morning call's hour inside the example's quiet hours (05:50-06:49 local, never past 07:00).
 */
function zoneWhereItIsSixAm(now: Date): string {
  const local = now.getUTCMinutes() < 50 ? 6 : 5;
  let offset = local - now.getUTCHours();
  if (offset < -12) offset += 24;
  if (offset > 14) offset -= 24;
  // Etc/GMT signs are inverted: Etc/GMT-3 is UTC+3.
  return offset === 0 ? 'Etc/GMT' : offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

describe('end to end: the example quiet hours, at the morning call hour', () => {
  let fakes: CommsFakes;
  let sys: TestSystem;
  beforeAll(async () => {
    fakes = await startCommsFakes();
    sys = await startSystem({
      config: {
        ...fakes.config({ comms: { morningCall: { retryDelayMs: 1000 } } }),
        timezone: zoneWhereItIsSixAm(new Date()),
        controls: { quietHours: { enabled: example.controls.quietHours.enabled, start: example.controls.quietHours.start, end: example.controls.quietHours.end } },
      },
    });
    const who = { actor: 'test', reason: 'operator' };
    await sys.ops.allowlistAdd({ kind: 'phone', address: OPERATOR_PHONE, ...who });
    await sys.ops.allowlistAdd({ kind: 'telegram', address: OPERATOR_CHAT, ...who });
  });
  afterAll(async () => {
    await sys?.close();
    await fakes?.close();
  });

  it('quiet hours are on now (an ordinary job is skipped for them)', async () => {
    expect(isQuietHours(new Date(), (await sys.ops.getControls()).quietHours)).toBe(true);
    expect(await sys.ops.runJob('periodic_scan')).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.quietHours });
  });

  it('the morning call rings the operator through Twilio', async () => {
    const calls = fakes.twilio.calls.length;
    const result = await sys.ops.runJob('morning_call');
    expect(result).toMatchObject({ outcome: 'succeeded', output: { via: 'voice', status: 'sent' } });
    expect(fakes.twilio.calls).toHaveLength(calls + 1);
    expect(fakes.twilio.calls.at(-1)!.to).toBe(OPERATOR_PHONE);
  });

  it('run_watchers is not held back by quiet hours', async () => {
    const result = await sys.ops.runJob('run_watchers');
    expect(result.reason ?? '').not.toBe(SKIP_REASONS.quietHours);
  });
});
