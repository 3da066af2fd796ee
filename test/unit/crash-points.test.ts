/** The crash point settings: unarmed unless named, and every bad value refused with its reason. */
import { describe, expect, it } from 'vitest';
import { CRASH_POINTS, crashAfter, crashPoint, parseCrashPlan } from '../../src/activities/crash-points';

describe('parseCrashPlan', () => {
  it('is unarmed without OPS_CRASH_POINT, or with it blank', () => {
    expect(parseCrashPlan({})).toBeUndefined();
    expect(parseCrashPlan({ OPS_CRASH_POINT: '', OPS_CRASH_POINT_SKIP: ' ', OPS_CRASH_POINT_PROBABILITY: '' })).toBeUndefined();
  });

  it('reads a known point, with its skips and probability', () => {
    expect(parseCrashPlan({ OPS_CRASH_POINT: 'sync.after_fetch_before_commit' })).toEqual({
      point: 'sync.after_fetch_before_commit',
      skip: 0,
      probability: 1,
    });
    expect(parseCrashPlan({ OPS_CRASH_POINT: ' send.sms.after_accept ', OPS_CRASH_POINT_SKIP: '3', OPS_CRASH_POINT_PROBABILITY: '0.25' })).toEqual({
      point: 'send.sms.after_accept',
      skip: 3,
      probability: 0.25,
    });
  });

  it.each([
    [{ OPS_CRASH_POINT: 'sync.after_fetch' }, 'OPS_CRASH_POINT'],
    [{ OPS_CRASH_POINT: 'SEND.SMS.AFTER_ACCEPT' }, 'OPS_CRASH_POINT'],
    [{ OPS_CRASH_POINT: 'send.sms.after_accept', OPS_CRASH_POINT_SKIP: '-1' }, 'OPS_CRASH_POINT_SKIP'],
    [{ OPS_CRASH_POINT: 'send.sms.after_accept', OPS_CRASH_POINT_SKIP: '1.5' }, 'OPS_CRASH_POINT_SKIP'],
    [{ OPS_CRASH_POINT: 'send.sms.after_accept', OPS_CRASH_POINT_SKIP: 'many' }, 'OPS_CRASH_POINT_SKIP'],
    [{ OPS_CRASH_POINT: 'send.sms.after_accept', OPS_CRASH_POINT_PROBABILITY: '2' }, 'OPS_CRASH_POINT_PROBABILITY'],
    [{ OPS_CRASH_POINT_SKIP: '2' }, 'need OPS_CRASH_POINT'],
  ])('refuses %j, naming %s', (env, named) => {
    expect(() => parseCrashPlan(env)).toThrow(named);
    expect(() => parseCrashPlan(env)).toThrow('Invalid crash point settings');
  });

  it('names every known point when it refuses one', () => {
    expect(() => parseCrashPlan({ OPS_CRASH_POINT: 'nope' })).toThrow(CRASH_POINTS.join(', '));
  });

  it('an unarmed process passes every crash point', () => {
    for (const point of CRASH_POINTS) crashPoint(point);
    expect(crashAfter('send.console.after_accept', 'id-1')).toBe('id-1');
  });
});
