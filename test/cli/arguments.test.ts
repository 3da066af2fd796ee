import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseSince, UsageError } from '../../src/cli/args';
import { runCli } from '../../src/cli';

const run = promisify(execFile);

async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  let connected = false;
  const code = await runCli(args, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    env: { USER: 'tester', ...env },
    connect: async () => {
      connected = true;
      throw new Error('bad arguments must never reach Temporal or the store');
    },
  });
  return { code, stdout, stderr, connected };
}

describe('opsctl refuses bad arguments before touching anything (exit 2)', () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['status', '--verbose'], /unknown option '--verbose'/],
    [['run', 'no_such_job'], /unknown job "no_such_job".*health_monitor/],
    [['run'], /missing required argument 'job'/],
    [['run', 'health_monitor', '--param', 'novalue'], /--param "novalue" must look like key=value/],
    [['kill', 'maybe', '--reason', 'x'], /kill takes "on" or "off", not "maybe"/],
    [['kill', 'on'], /kill needs --reason/],
    [['kill', 'on', '--reason', '  '], /kill needs --reason/],
    [['jobs', 'pause', '--reason', 'x'], /jobs takes "enable" or "disable", not "pause"/],
    [['writes', 'disable'], /writes needs --reason/],
    [['quiet-hours', 'set', '--start', '25:00', '--end', '07:00', '--reason', 'x'], /--start must be a 24-hour time HH:MM, not "25:00"/],
    [['quiet-hours', 'set', '--end', '07:00', '--reason', 'x'], /required option '--start/],
    [['schedules', 'pause', 'nightly'], /unknown job "nightly"/],
    [['schedules', 'explode'], /unknown command 'explode'/],
    [['dlq', 'replay', 'abc'], /dead letter id must be a positive whole number, not "abc"/],
    [['dlq', 'list', '--status', 'lost'], /argument 'lost' is invalid.*open, replaying, resolved, exhausted/],
    [['audit', '--since', 'yesterday'], /--since "yesterday" is not a duration/],
    [['audit', '--job', 'nope'], /unknown job "nope"/],
    [['audit', '--limit', '0'], /--limit must be a positive whole number/],
    [['incidents', '--status', 'closed'], /argument 'closed' is invalid/],
  ];
  for (const [args, message] of cases) {
    it(`opsctl ${args.join(' ')}`, async () => {
      const result = await cli(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.connected).toBe(false);
    });
  }

  it('a bad configuration exits 2 with the config message, before connecting', async () => {
    const result = await cli(['status'], { TEMPORAL_UI_PORT: 'abc' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/temporal\.uiPort \(TEMPORAL_UI_PORT\)/);
    expect(result.connected).toBe(false);
  });

  it('--help exits 0 and lists the commands', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['status', 'kill', 'jobs', 'comms', 'writes', 'run', 'schedules', 'dlq', 'audit', 'incidents']) {
      expect(result.stdout).toContain(command);
    }
  });

  it('an unreachable Temporal exits 1 and names TEMPORAL_ADDRESS', async () => {
    const result = await cli(['status']);
    expect(result.code).toBe(1);
    expect(result.connected).toBe(true);
    expect(result.stderr).toContain('TEMPORAL_ADDRESS');
  });
});

describe('--since', () => {
  const now = new Date('2026-11-23T12:00:00.000Z');
  it('takes durations and ISO dates', () => {
    expect(parseSince('30m', now).toISOString()).toBe('2026-11-23T11:30:00.000Z');
    expect(parseSince('1h', now).toISOString()).toBe('2026-11-23T11:00:00.000Z');
    expect(parseSince('2d', now).toISOString()).toBe('2026-11-21T12:00:00.000Z');
    expect(parseSince('2026-11-01T00:00:00Z', now).toISOString()).toBe('2026-11-01T00:00:00.000Z');
  });
  it('refuses anything else', () => {
    for (const bad of ['', '1w', '-1h', 'soon', '2026-13-45']) expect(() => parseSince(bad, now)).toThrow(UsageError);
  });
});

describe('bin/opsctl.js as a real process', () => {
  it('--help exits 0', async () => {
    const { stdout } = await run('node', ['bin/opsctl.js', '--help']);
    expect(stdout).toContain('Usage: opsctl');
  });
  it('a bad job name exits 2 with the message on stderr', async () => {
    const err = await run('node', ['bin/opsctl.js', 'run', 'no_such_job', '--json']).catch((e: unknown) => e as { code: number; stderr: string });
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain('unknown job "no_such_job"');
  });
});
