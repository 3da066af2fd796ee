/**
 * `opsctl schedules set` refuses every bad request before it connects: exit 2, a message naming
 * what is wrong, nothing on stdout, and no connection (so nothing changed).
 */
import { describe, expect, it } from 'vitest';
import { parseCadenceOptions } from '../../src/cli/schedules';
import { expectRefusedOffline, offlineCli } from '../helpers/offline-cli';

const why = ['--reason', 'busy week'];

describe('opsctl schedules set: bad input exits 2 touching nothing', () => {
  const cases: [string[], RegExp][] = [
    [['schedules', 'set', 'no_such_job', '--every', '15m', ...why], /unknown job "no_such_job"; jobs are: .*sync_notion/],
    [['schedules', 'set', '--every', '15m', ...why], /missing required argument 'job'/],
    [['schedules', 'set', 'sync_notion', '--every', '15 minutes', ...why], /--every: "15 minutes" is not a duration like 30s, 5m or 1h/],
    [['schedules', 'set', 'sync_notion', '--every', '5s', ...why], /--every: every 5s is too often: at least 10s/],
    [['schedules', 'set', 'sync_notion', '--every', '200h', ...why], /--every: every 200h is too rare: at most 168h/],
    [['schedules', 'set', 'sync_notion', '--every', '10500ms', ...why], /--every: every 10500ms is not a whole number of seconds/],
    [['schedules', 'set', 'sync_notion', '--at', '7:30', ...why], /--at must be a 24-hour time HH:MM, not "7:30"/],
    [['schedules', 'set', 'sync_notion', '--at', '24:00', ...why], /--at must be a 24-hour time HH:MM, not "24:00"/],
    [['schedules', 'set', 'sync_notion', '--every', '15m', '--at', '07:30', ...why], /one of --every, --at or --default, not --every and --at/],
    [['schedules', 'set', 'sync_notion', '--every', '15m', '--default', ...why], /not --every and --default/],
    [['schedules', 'set', 'sync_notion', ...why], /needs one of --every <duration> \(e\.g\. 15m\), --at <HH:MM>, or --default/],
    [['schedules', 'set', 'sync_notion', '--every', '15m'], /schedules set needs --reason/],
    [['schedules', 'set', 'sync_notion', '--default'], /schedules set needs --reason/],
    [['schedules', 'set', 'sync_notion', '--every', '15m', '--reason', ' '], /schedules set needs --reason/],
    [['schedules', 'set', 'sync_notion', '--every', '15m', ...why, '--actor', ' '], /actor: say who makes the change/],
    [['schedules', 'set', 'sync_notion', '--every', '15m', '--reason', 'x'.repeat(501)], /reason: at most 500 characters/],
    [['schedules', 'set', 'sync_notion', '--every', '15m', ...why, '--json'].concat('--cron', '* * * * *'), /unknown option '--cron'/],
    [['schedules', 'unset', 'sync_notion'], /schedules unset needs --reason/],
    [['schedules', 'unset', 'nightly', ...why], /unknown job "nightly"/],
    [['schedules', 'unset', 'sync_notion', '--every', '15m', ...why], /unknown option '--every'/],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(' ').slice(0, 90)}`, async () => {
      await expectRefusedOffline(args, message);
    });
  }

  it('a valid set gets as far as connecting, as a writer', async () => {
    const every = await offlineCli(['schedules', 'set', 'sync_notion', '--every', '15m', ...why]);
    expect(every).toMatchObject({ connected: true, access: 'write', code: 1 });
    const back = await offlineCli(['schedules', 'set', 'sync_notion', '--default', ...why]);
    expect(back).toMatchObject({ connected: true, access: 'write', code: 1 });
    const unset = await offlineCli(['schedules', 'unset', 'sync_notion', ...why]);
    expect(unset).toMatchObject({ connected: true, access: 'write', code: 1 });
  });

  it('parses exactly one of --every, --at, --default', () => {
    expect(parseCadenceOptions({ every: '15m' })).toEqual({ every: '15m' });
    expect(parseCadenceOptions({ at: '07:30' })).toEqual({ at: '07:30' });
    expect(parseCadenceOptions({ default: true })).toBe('default');
  });
});
