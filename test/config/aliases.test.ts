/**
 * The spec's own cadence keys are accepted as aliases of jobs.<job>.every / at: each one sets its
 * job's schedule, the cadence bounds apply, and an alias that disagrees with our key (or another
 * alias) for the same job is refused naming both, with nothing else changed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../../src/config';
import { resolveSchedules } from '../../src/schedules/table';

const dir = mkdtempSync(join(tmpdir(), 'ops-aliases-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function load(yaml: string): Config {
  const path = join(dir, `config-${++files}.yaml`);
  writeFileSync(path, yaml);
  return loadConfig({ OPS_CONFIG: path });
}

function refusal(yaml: string): string {
  try {
    load(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError, got none');
}

function scheduleOf(config: Config, job: string) {
  return resolveSchedules(config).find((row) => row.job === job)?.cadence;
}

describe("the spec's cadence keys", () => {
  const cases: [string, string, string, object][] = [
    ['jobs.periodic_scan.interval_minutes', 'jobs:\n  periodic_scan: { interval_minutes: 15 }\n', 'periodic_scan', { every: '15m' }],
    ['jobs.daily_digest.time', 'jobs:\n  daily_digest: { time: "07:30" }\n', 'daily_digest', { at: '07:30' }],
    ['jobs.morning_call.time', 'jobs:\n  morning_call: { time: "06:45" }\n', 'morning_call', { at: '06:45' }],
    ['sources.notion.scan_interval_minutes', 'sources:\n  notion: { scan_interval_minutes: 20 }\n', 'sync_notion', { every: '20m' }],
    ['sources.n8n.scan_interval_minutes', 'sources:\n  n8n: { scan_interval_minutes: 45 }\n', 'sync_n8n', { every: '45m' }],
    ['sources.hubspot.poll_interval_minutes', 'sources:\n  hubspot: { poll_interval_minutes: 90 }\n', 'sync_hubspot', { every: '90m' }],
    ['watchers.checkIntervalMinutes', 'watchers:\n  checkIntervalMinutes: 10\n', 'run_watchers', { every: '10m' }],
    ['retry_queue.checkIntervalSeconds', 'retry_queue:\n  checkIntervalSeconds: 60\n', 'process_retry_queue', { every: '60s' }],
  ];

  it.each(cases)('%s sets its job cadence', (_key, yaml, job, cadence) => {
    const config = load(yaml);
    expect(config.jobs[job as keyof Config['jobs']]).toEqual(cadence);
    expect(scheduleOf(config, job)).toEqual(cadence);
    // The alias is read, not kept: the rest of the config is what it would be without it.
    expect({ ...config, jobs: {} }).toEqual(loadConfig({}));
  });

  it('a number given as text (an environment-style value) is read too', () => {
    expect(load('watchers:\n  checkIntervalMinutes: "15"\n').jobs.run_watchers).toEqual({ every: '15m' });
  });

  it('an alias sits beside the other settings of its section, which keep their values', () => {
    const config = load('sources:\n  notion: { scan_interval_minutes: 30, tags: [SOP] }\nwatchers:\n  checkIntervalMinutes: 5\n  queueDepth: { max: 7 }\n');
    expect(config.sources.notion.tags).toEqual(['SOP']);
    expect(config.watchers.queueDepth.max).toBe(7);
    expect(config.jobs).toEqual({ sync_notion: { every: '30m' }, run_watchers: { every: '5m' } });
  });
});

describe('the cadence bounds apply to aliases, naming the alias key', () => {
  it.each([
    ['retry_queue:\n  checkIntervalSeconds: 5\n', /retry_queue\.checkIntervalSeconds: every 5s is too often: at least 10s/],
    ['watchers:\n  checkIntervalMinutes: 20000\n', /watchers\.checkIntervalMinutes: every 20000m is too rare: at most 168h/],
    ['jobs:\n  periodic_scan: { interval_minutes: 0 }\n', /jobs\.periodic_scan\.interval_minutes: expected a whole number of minutes above 0, got 0/],
    ['jobs:\n  periodic_scan: { interval_minutes: 2.5 }\n', /jobs\.periodic_scan\.interval_minutes: expected a whole number of minutes/],
    ['sources:\n  hubspot: { poll_interval_minutes: soon }\n', /sources\.hubspot\.poll_interval_minutes: expected a whole number of minutes above 0, got "soon"/],
    ['jobs:\n  daily_digest: { time: "8am" }\n', /jobs\.daily_digest\.time: expected HH:MM \(24-hour\), got "8am"/],
  ])('%s', (yaml, reason) => {
    expect(refusal(yaml)).toMatch(reason);
  });

  it('a bad alias is reported with the other bad keys, one line each', () => {
    const message = refusal('retry_queue:\n  checkIntervalSeconds: 1\nretry:\n  maxAttempts: 0\n');
    const lines = message.split('\n');
    expect(lines[0]).toBe('Invalid configuration:');
    expect(lines.filter((l) => l.includes('retry_queue.checkIntervalSeconds'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('retry.maxAttempts'))).toHaveLength(1);
    expect(lines).toHaveLength(3);
  });

  it('retry_queue holds only its alias: another key there is named, not ignored', () => {
    expect(refusal('retry_queue:\n  checkIntervalSeconds: 30\n  batch: 5\n')).toMatch(/retry_queue\.batch: unrecognized key: only the spec's checkIntervalSeconds is read under retry_queue/);
    expect(refusal('retry_queue: 30\n')).toMatch(/retry_queue: expected a mapping with checkIntervalSeconds/);
  });

  it('an alias of a source that has none in the spec is still an unknown key', () => {
    expect(refusal('sources:\n  notion: { poll_interval_minutes: 30 }\n')).toMatch(/sources\.notion: .*"poll_interval_minutes"/);
  });
});

describe('an alias and our key for the same job', () => {
  it.each([
    ['jobs:\n  periodic_scan: { every: 30m, interval_minutes: 30 }\n', 'periodic_scan', { every: '30m' }],
    ['jobs:\n  periodic_scan: { every: 1800s, interval_minutes: 30 }\n', 'periodic_scan', { every: '1800s' }],
    ['jobs:\n  daily_digest: { at: "08:00", time: "08:00" }\n', 'daily_digest', { at: '08:00' }],
    ['jobs:\n  sync_n8n: { every: 45m }\nsources:\n  n8n: { scan_interval_minutes: 45 }\n', 'sync_n8n', { every: '45m' }],
    ['jobs:\n  run_watchers: { every: 5m }\nwatchers:\n  checkIntervalMinutes: 5\n', 'run_watchers', { every: '5m' }],
    ['jobs:\n  process_retry_queue: { every: 1m }\nretry_queue:\n  checkIntervalSeconds: 60\n', 'process_retry_queue', { every: '1m' }],
  ])('agreeing (%s) is accepted: our key is kept', (yaml, job, cadence) => {
    expect(load(yaml).jobs[job as keyof Config['jobs']]).toEqual(cadence);
  });

  it.each([
    ['jobs:\n  periodic_scan: { every: 15m, interval_minutes: 30 }\n', /jobs\.periodic_scan\.interval_minutes: every 30m disagrees with jobs\.periodic_scan\.every \(every 15m\)/],
    ['jobs:\n  daily_digest: { at: "08:00", time: "07:00" }\n', /jobs\.daily_digest\.time: daily at 07:00 disagrees with jobs\.daily_digest\.at \(daily at 08:00\)/],
    ['jobs:\n  daily_digest: { every: 12h, time: "07:00" }\n', /jobs\.daily_digest\.time: daily at 07:00 disagrees with jobs\.daily_digest\.every \(every 12h\)/],
    ['jobs:\n  sync_notion: { every: 60m }\nsources:\n  notion: { scan_interval_minutes: 20 }\n', /sources\.notion\.scan_interval_minutes: every 20m disagrees with jobs\.sync_notion\.every \(every 60m\)/],
    ['jobs:\n  sync_n8n: { every: 30m }\nsources:\n  n8n: { scan_interval_minutes: 10 }\n', /sources\.n8n\.scan_interval_minutes: every 10m disagrees with jobs\.sync_n8n\.every/],
    ['jobs:\n  sync_hubspot: { every: 60m }\nsources:\n  hubspot: { poll_interval_minutes: 30 }\n', /sources\.hubspot\.poll_interval_minutes: every 30m disagrees with jobs\.sync_hubspot\.every/],
    ['jobs:\n  run_watchers: { every: 5m }\nwatchers:\n  checkIntervalMinutes: 10\n', /watchers\.checkIntervalMinutes: every 10m disagrees with jobs\.run_watchers\.every \(every 5m\)/],
    ['jobs:\n  process_retry_queue: { every: 30s }\nretry_queue:\n  checkIntervalSeconds: 60\n', /retry_queue\.checkIntervalSeconds: every 60s disagrees with jobs\.process_retry_queue\.every \(every 30s\)/],
    // Two aliases of one job disagree the same way.
    ['jobs:\n  run_watchers: { interval_minutes: 5 }\nwatchers:\n  checkIntervalMinutes: 10\n', /watchers\.checkIntervalMinutes: every 10m disagrees with jobs\.run_watchers\.interval_minutes \(every 5m\)/],
  ])('disagreeing (%s) is refused, naming both keys', (yaml, reason) => {
    const message = refusal(yaml);
    expect(message).toMatch(reason);
    expect(message).toMatch(/keep one$/m);
  });
});
