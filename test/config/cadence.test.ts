/**
 * Schedule cadences are checked when the config loads: an interval Temporal cannot run, or one
 * too short to be sensible, fails with a ConfigError naming the job and the value, before npm
 * start touches a single schedule.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, configSchema, loadConfig } from '../../src/config';
import { JOB_CATALOGUE, JOB_NAMES } from '../../src/jobs';
import { durationMs, MAX_INTERVAL_MS, MIN_INTERVAL_MS, resolveSchedules, ScheduleTableError, validateSchedules } from '../../src/schedules/table';

const dir = mkdtempSync(join(tmpdir(), 'ops-cadence-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loadYaml(text: string) {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, text);
  return () => loadConfig({ OPS_CONFIG: path });
}

describe('schedule intervals', () => {
  it('refuses an impossible or too-frequent interval, naming the job and the value', () => {
    for (const every of ['0s', '1ms', '999ms', '1s', '9s', '0m', '0h']) {
      const load = loadYaml(`jobs:\n  sync_n8n:\n    every: ${every}\n`);
      expect(load, every).toThrow(ConfigError);
      expect(load, every).toThrow(new RegExp(`jobs\\.sync_n8n\\.every: every ${every} is too often: at least 10s`));
    }
  });

  it('refuses an interval too long for a schedule, or not whole seconds', () => {
    expect(loadYaml('jobs:\n  health_monitor:\n    every: 169h\n')).toThrow(/jobs\.health_monitor\.every: every 169h is too rare: at most 168h/);
    expect(loadYaml('jobs:\n  health_monitor:\n    every: 99999999999999999999h\n')).toThrow(/too rare/);
    expect(loadYaml('jobs:\n  health_monitor:\n    every: 10500ms\n')).toThrow(/every 10500ms is not a whole number of seconds/);
    expect(loadYaml('jobs:\n  health_monitor:\n    every: 5\n')).toThrow(/jobs\.health_monitor\.every: .*expected string/);
    expect(loadYaml('jobs:\n  health_monitor:\n    every: soon\n')).toThrow(/jobs\.health_monitor\.every: "soon" is not a duration/);
  });

  it('names every bad job at once', () => {
    const load = loadYaml('jobs:\n  sync_n8n:\n    every: 0s\n  run_watchers:\n    every: 1ms\n');
    expect(load).toThrow(/jobs\.sync_n8n\.every: every 0s[\s\S]*jobs\.run_watchers\.every: every 1ms/);
  });

  it('accepts the bounds themselves, and every interval of the built-in table', () => {
    expect(loadYaml('jobs:\n  sync_n8n:\n    every: 10s\n')().jobs.sync_n8n).toEqual({ every: '10s' });
    expect(loadYaml('jobs:\n  sync_n8n:\n    every: 10000ms\n')().jobs.sync_n8n).toEqual({ every: '10000ms' });
    expect(loadYaml('jobs:\n  sync_n8n:\n    every: 168h\n')().jobs.sync_n8n).toEqual({ every: '168h' });
    expect(durationMs('10s')).toBe(MIN_INTERVAL_MS);
    expect(durationMs('168h')).toBe(MAX_INTERVAL_MS);
    for (const job of JOB_NAMES) {
      const cadence: { every: string } | { at: string } = JOB_CATALOGUE[job].cadence;
      if ('every' in cadence) expect(durationMs(cadence.every), job).toBeGreaterThanOrEqual(MIN_INTERVAL_MS);
    }
    expect(() => validateSchedules(resolveSchedules(loadConfig({})))).not.toThrow();
  });

  it('the table check catches a config that bypassed the schema, naming every bad row', () => {
    const config = { ...configSchema.parse({}), jobs: { sync_n8n: { every: '0s' }, daily_digest: { at: '25:00' } } };
    const check = () => validateSchedules(resolveSchedules(config as never));
    expect(check).toThrow(ScheduleTableError);
    expect(check).toThrow(/nothing changed[\s\S]*jobs\.daily_digest\.at: "25:00"[\s\S]*jobs\.sync_n8n\.every: every 0s is too often/);
  });
});
