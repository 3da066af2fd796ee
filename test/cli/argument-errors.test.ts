/**
 * Everything opsctl decides before it connects: every bad argument exits 2 with a message naming
 * what is wrong, and the injected connect proves nothing was touched.
 */
import { describe, expect, it } from 'vitest';
import { parseParams, parseSince, UsageError } from '../../src/cli/args';
import { expectRefusedOffline, offlineCli } from '../helpers/offline-cli';

const cli = offlineCli;

describe('opsctl refuses bad arguments before touching anything (exit 2)', () => {
  const cases: [string[], RegExp][] = [
    [[], /Usage: opsctl/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['stauts'], /unknown command 'stauts'[\s\S]*Did you mean status/],
    [['status', '--verbose'], /unknown option '--verbose'/],
    [['--verbose', 'status'], /unknown option '--verbose'/],
    [['status', 'extra'], /too many arguments/],
    [['run', 'no_such_job'], /unknown job "no_such_job".*health_monitor/],
    [['run', 'no_such_job', '--json'], /unknown job "no_such_job"/],
    [['run'], /missing required argument 'job'/],
    [['run', 'health_monitor', '--wiat'], /unknown option '--wiat'/],
    [['run', 'health_monitor', '--param', 'novalue'], /--param "novalue" must look like key=value/],
    [['run', 'health_monitor', '--param', '=v'], /--param "=v" must look like key=value/],
    [['run', 'health_monitor', '--param', 'a=1', '--param', 'a=2'], /--param "a" is given twice/],
    [['run', 'health_monitor', '--param', 'limit=5'], /--param: unknown param "limit" for health_monitor; health_monitor takes no params/],
    [['run', 'sync_notion', '--param', '__proto__=1'], /unknown param "__proto__" for sync_notion/],
    [['run', 'sync_notion', '--param', 'constructor=1'], /unknown param "constructor" for sync_notion/],
    [['kill', 'maybe', '--reason', 'x'], /kill takes "on" or "off", not "maybe"/],
    [['kill', 'On', '--reason', 'x'], /kill takes "on" or "off", not "On"/],
    [['kill', '--reason', 'x'], /missing required argument 'on\|off'/],
    [['kill', 'on'], /kill needs --reason/],
    [['kill', 'on', '--reason', '  '], /kill needs --reason/],
    [['kill', 'on', '--reason'], /option '--reason <why>' argument missing/],
    [['kill', 'on', '--reason', 'x', '--actor', ' '], /actor: say who makes the change/],
    [['kill', 'on', '--reason', 'x'.repeat(501)], /reason: at most 500 characters/],
    [['kill', 'on', '--reason', 'line one\nforged line'], /argument 4 \("line one\\nforged line"\) contains a control character/],
    [['kill', 'on', '--reason', 'ok', '--actor', '\u001b[31mroot'], /argument 6 \("\\u001b\[31mroot"\) contains a control character/],
    [['kill', 'on', '--reason', 'y'.repeat(10_001)], /argument 4 is 10001 characters long; at most 10000/],
    [Array.from({ length: 201 }, () => '--json'), /too many arguments \(201; at most 200\)/],
    [['jobs', 'pause', '--reason', 'x'], /jobs takes "enable" or "disable", not "pause"/],
    [['jobs', 'disable'], /jobs needs --reason/],
    [['comms', 'enabel', '--reason', 'x'], /comms takes "enable" or "disable", not "enabel"/],
    [['comms', 'enable'], /comms needs --reason/],
    [['writes', 'disable'], /writes needs --reason/],
    [['quiet-hours'], /Usage: opsctl quiet-hours/],
    [['quiet-hours', 'toggle'], /unknown command 'toggle'/],
    [['quiet-hours', 'on'], /quiet-hours on needs --reason/],
    [['quiet-hours', 'set', '--start', '25:00', '--end', '07:00', '--reason', 'x'], /--start must be a 24-hour time HH:MM, not "25:00"/],
    [['quiet-hours', 'set', '--start', '22:00', '--end', '7:00', '--reason', 'x'], /--end must be a 24-hour time HH:MM, not "7:00"/],
    [['quiet-hours', 'set', '--end', '07:00', '--reason', 'x'], /required option '--start <HH:MM>' not specified/],
    [
      ['quiet-hours', 'set', '--start', '22:00', '--end', '07:00', '--tz', 'Mars/Base', '--reason', 'x'],
      /quietHours\.timeZone: unknown IANA time zone/,
    ],
    [['quiet-hours', 'set', '--start', '22:00', '--end', '07:00'], /quiet-hours set needs --reason/],
    [['schedules'], /Usage: opsctl schedules/],
    [['schedules', 'pause', 'nightly'], /unknown job "nightly"/],
    [['schedules', 'resume'], /missing required argument 'job'/],
    [['schedules', 'trigger', 'health_monitor', '--note', 'x', '--reason', 'r'], /unknown option '--note'/],
    [['schedules', 'pause', 'health_monitor'], /schedules pause needs --reason/],
    [['schedules', 'resume', 'health_monitor', '--reason', ' '], /schedules resume needs --reason/],
    [['schedules', 'trigger', 'health_monitor'], /schedules trigger needs --reason/],
    [['schedules', 'pause', 'health_monitor', '--reason', 'r', '--actor', 'a'.repeat(101)], /actor: at most 100 characters/],
    [['allowlist', 'add', '+15551234567'], /allowlist add needs --reason/],
    [['allowlist', 'add', '+15551234567', '--reason', 'r', '--label', 'l'.repeat(101)], /label: at most 100 characters/],
    [['allowlist', 'remove', '+15551234567', '--reason', 'r'.repeat(501)], /reason: at most 500 characters/],
    [['schedules', 'explode'], /unknown command 'explode'/],
    [['dlq', 'replay', 'abc'], /dead letter id must be a positive whole number, not "abc"/],
    [['dlq', 'replay', '0'], /dead letter id must be a positive whole number, not "0"/],
    [['dlq', 'replay', '1.5'], /dead letter id must be a positive whole number, not "1.5"/],
    [['dlq', 'replay', '99999999999999999999'], /dead letter id must be a positive whole number/],
    [['dlq', 'list', '--status', 'lost'], /argument 'lost' is invalid.*open, replaying, resolved, exhausted/],
    [['audit', '--since', 'yesterday'], /--since "yesterday" is not a duration/],
    [['audit', '--since', '2026-02-30'], /--since "2026-02-30" is not a duration/],
    [['audit', '--since', '99999999999999999999d'], /--since "99999999999999999999d" is too far back: at most 36500d/],
    [['audit', '--since', '36501d'], /too far back/],
    [['audit', '--since', `${'9'.repeat(400)}s`], /--since "9{80}\.\.\." is too far back/],
    [['audit', '--since'], /option '--since <when>' argument missing/],
    [['audit', '--job', 'nope'], /unknown job "nope"/],
    [['audit', '--limit', '0'], /--limit must be a positive whole number, not "0"/],
    [['audit', '--limit', 'ten'], /--limit must be a positive whole number, not "ten"/],
    [['incidents', '--status', 'closed'], /argument 'closed' is invalid.*open, acknowledged, resolved/],
    [['incidents', '--limit', '-3'], /--limit/],
    [['incidents', '--limit', '1001'], /limit: a whole number from 1 to 1000, not 1001/],
    [['incidents', 'list', '--limit', '0'], /--limit must be a positive whole number, not "0"/],
    [['incidents', '--type', 'dead letter'], /type: "dead letter" is not an incident type/],
    [['incidents', '--type', 't'.repeat(101)], /is not an incident type .*at most 100 characters/],
    [['incidents', '--all', '--status', 'open'], /option '--status <state>' cannot be used with option '--all'/],
    [['incidents', 'frobnicate'], /too many arguments for 'list'/],
    [['incidents', 'show'], /missing required argument 'id'/],
    [['incidents', 'show', 'abc'], /incident id must be a positive whole number, not "abc"/],
    [['incidents', 'show', '99999999999999999999'], /incident id must be a positive whole number/],
    [['incidents', 'ack', '0', '--reason', 'r'], /incident id must be a positive whole number, not "0"/],
    [['incidents', 'ack', '3'], /incidents ack needs --reason/],
    [['incidents', 'resolve', '3', '--reason', ' '], /incidents resolve needs --reason/],
    [['incidents', 'resolve', '3', '--reason', 'r'.repeat(501)], /reason: at most 500 characters/],
    [['incidents', 'ack', '3', '--reason', 'r', '--actor', 'a'.repeat(101)], /actor: at most 100 characters/],
    [['incidents', 'ack', '3', '4', '--reason', 'r'], /too many arguments for 'ack'/],
    [['incidents', 'resolve', '3', '--reason', 'r\u202eevil'], /contains a control character/],
  ];
  for (const [args, message] of cases) {
    it(`opsctl ${JSON.stringify(args.join(' ') || '(no command)').slice(1, 100)}`, async () => {
      await expectRefusedOffline(args, message);
    });
  }

  it('messages start with "opsctl:", commander\'s own included', async () => {
    expect((await cli(['frobnicate'])).stderr).toMatch(/^opsctl: unknown command/);
    expect((await cli(['run', 'nope'])).stderr).toMatch(/^opsctl: unknown job/);
  });

  it('a bad configuration exits 2 with the config message, before connecting', async () => {
    const port = await cli(['status'], { TEMPORAL_UI_PORT: 'abc' });
    expect(port).toMatchObject({ code: 2, connected: false });
    expect(port.stderr).toMatch(/temporal\.uiPort \(TEMPORAL_UI_PORT\)/);
    const address = await cli(['kill', 'on', '--reason', 'x'], { TEMPORAL_ADDRESS: 'no port here' });
    expect(address).toMatchObject({ code: 2, connected: false });
    expect(address.stderr).toMatch(/TEMPORAL_ADDRESS/);
    const file = await cli(['status'], { OPS_CONFIG: '/nonexistent/ops.yaml' });
    expect(file).toMatchObject({ code: 2, connected: false });
    expect(file.stderr).toMatch(/OPS_CONFIG: file not found/);
  });
});

describe('help exits 0', () => {
  it('--help lists every command and the exit codes', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['status', 'kill', 'jobs', 'comms', 'writes', 'quiet-hours', 'run', 'schedules', 'dlq', 'audit', 'incidents']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect(result.stdout).toContain('Exit codes:');
    expect(result.connected).toBe(false);
  });
  it('a subcommand\'s help shows --json too', async () => {
    const result = await cli(['schedules', 'pause', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: opsctl schedules pause [options] <job>');
    expect(result.stdout).toContain('--json');
  });
  it('opsctl help run', async () => {
    const result = await cli(['help', 'run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--wait');
  });
});

describe('valid commands go on to connect', () => {
  it('an unreachable Temporal exits 1 and names TEMPORAL_ADDRESS', async () => {
    const result = await cli(['status'], { TEMPORAL_ADDRESS: 'localhost:1' });
    expect(result).toMatchObject({ code: 1, connected: true, stdout: '' });
    expect(result.stderr).toContain('Failed to connect before the deadline');
    expect(result.stderr).toContain('localhost:1 (TEMPORAL_ADDRESS)');
  });
  it('--json is accepted before and after the subcommand, at any depth', async () => {
    for (const args of [
      ['--json', 'status'],
      ['status', '--json'],
      ['schedules', 'list', '--json'],
      ['quiet-hours', 'off', '--reason', 'r', '--json'],
      ['run', 'health_monitor', '--json', '--wait'],
      ['dlq', 'replay', '7', '--json'],
      ['audit', '--since', '2026-11-01', '--job', 'controls.update', '--json'],
      ['incidents', 'ack', '3', '--reason', 'r', '--json'],
      ['--json', 'incidents', '--all', '--type', 'dead_letter'],
    ]) {
      const result = await cli(args);
      expect({ args, code: result.code, connected: result.connected }).toEqual({ args, code: 1, connected: true });
    }
  });
});

describe('only commands that change something may migrate the store', () => {
  const reads = [
    ['status'],
    ['audit'],
    ['incidents'],
    ['incidents', 'list', '--all', '--type', 'dead_letter', '--limit', '1000'],
    ['incidents', '--status', 'acknowledged'],
    ['incidents', 'show', '3'],
    ['dlq', 'list'],
    ['notifications'],
    ['allowlist', 'list'],
    ['schedules', 'list'],
    ['digest', 'preview'],
    ['call', 'preview'],
  ];
  const controls = [
    ['kill', 'on', '--reason', 'r'],
    ['jobs', 'disable', '--reason', 'r'],
    ['quiet-hours', 'on', '--reason', 'r'],
  ];
  const writes = [
    ['migrate'],
    ['run', 'health_monitor'],
    ['dlq', 'replay', '3'],
    ['schedules', 'pause', 'health_monitor', '--reason', 'r'],
    ['schedules', 'trigger', 'health_monitor', '--reason', 'r'],
    ['allowlist', 'add', '+15551234567', '--reason', 'r'],
    ['incidents', 'ack', '3', '--reason', 'r'],
    ['incidents', 'resolve', '3', '--reason', 'r', '--actor', 'ana'],
  ];
  it('read-only commands connect for reading', async () => {
    for (const args of reads) expect({ args, access: (await cli(args)).access }).toEqual({ args, access: 'read' });
  });
  it('commands that write connect for writing', async () => {
    for (const args of writes) expect({ args, access: (await cli(args)).access }).toEqual({ args, access: 'write' });
  });
  it('controls changes connect for a controls change (ops-controls stores it; the store may be down)', async () => {
    for (const args of controls) expect({ args, access: (await cli(args)).access }).toEqual({ args, access: 'controls' });
  });
});

describe('--since', () => {
  const now = new Date('2026-11-23T12:00:00.000Z');
  it('takes durations ago', () => {
    expect(parseSince('90s', now).toISOString()).toBe('2026-11-23T11:58:30.000Z');
    expect(parseSince('30m', now).toISOString()).toBe('2026-11-23T11:30:00.000Z');
    expect(parseSince('1h', now).toISOString()).toBe('2026-11-23T11:00:00.000Z');
    expect(parseSince('2d', now).toISOString()).toBe('2026-11-21T12:00:00.000Z');
    expect(parseSince('0m', now).toISOString()).toBe('2026-11-23T12:00:00.000Z');
  });
  it('takes ISO dates and times', () => {
    expect(parseSince('2026-11-01', now).toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseSince('2026-11-01T08:30:00Z', now).toISOString()).toBe('2026-11-01T08:30:00.000Z');
    expect(parseSince('2026-11-01T08:30:00.250Z', now).toISOString()).toBe('2026-11-01T08:30:00.250Z');
    expect(parseSince('2026-11-01T08:30-06:00', now).toISOString()).toBe('2026-11-01T14:30:00.000Z');
    expect(parseSince('2024-02-29', now).toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });
  it('refuses a duration further back than a century, instead of an invalid date', () => {
    expect(parseSince('36500d', now).getUTCFullYear()).toBe(1926);
    for (const far of ['36501d', '876001h', '99999999999999999999d', `${'9'.repeat(400)}s`]) {
      expect(() => parseSince(far, now), far).toThrow(/too far back/);
    }
  });
  it('refuses anything else', () => {
    for (const bad of ['', ' ', '1', '1w', '-1h', '1.5h', 'h', 'soon', 'May 5', '2026-13-45', '2026-02-30', '2025-02-29', '2026-11-01T25:00Z', '1700000000']) {
      expect(() => parseSince(bad, now), bad).toThrow(UsageError);
    }
  });
});

describe('--param', () => {
  it('keeps everything after the first =', () => {
    expect(parseParams(['a=1', 'url=http://x?y=z', 'empty='])).toEqual({ a: '1', url: 'http://x?y=z', empty: '' });
  });
});
