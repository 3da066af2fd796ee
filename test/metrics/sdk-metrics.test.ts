/**
 * The SDK's own metrics in GET /metrics, and the Grafana dashboard against what is served: a
 * process of its own (test/metrics/metrics-process.ts) runs installRuntime, a worker and the
 * plugin, as production does; a real job runs on its worker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takenNames } from '../../src/metrics/text-format';
import { startSystem, startTestJob, type TestSystem } from '../helpers/system';
import { metricNamesOf, panelQueries } from './dashboard';
import { readScrape, type Scrape } from './scrape';

const ROOT = join(__dirname, '..', '..');

async function spawnMetricsProcess(sys: TestSystem): Promise<{ child: ChildProcess; port: number }> {
  const configPath = join(sys.config.dataDir, 'metrics-process.json');
  writeFileSync(configPath, JSON.stringify({ ...sys.config, logLevel: 'warn' }));
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'metrics-process.ts')], {
    cwd: ROOT,
    env: { ...process.env, OPS_CONFIG: configPath, TEMPORAL_ADDRESS: '', DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`metrics process not ready in 60 s:\n${stderr}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      const ready = /metrics ready (\d+)/.exec(chunk.toString());
      if (ready) {
        clearTimeout(timer);
        resolve(Number(ready[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`metrics process exited (${code}) before it was ready:\n${stderr}`));
    });
  });
  return { child, port };
}

describe('GET /metrics of a process with the SDK exporter on', () => {
  let sys: TestSystem;
  let proc: { child: ChildProcess; port: number } | undefined;
  let scraped: Scrape;
  beforeAll(async () => {
    sys = await startSystem({ startWorker: false });
    proc = await spawnMetricsProcess(sys);
    await sys.ops.ensureControls();
    // faultyJob's step is an activity on the worker's task queue (no fault set: it succeeds).
    const id = await startTestJob(sys, 'faultyJob', 'sdk-metrics-1', { params: { fault: 'none' } });
    expect((await sys.ops.jobResult(id)).outcome).toBe('succeeded');
    // Core aggregates its figures on a thread of its own: they show up shortly after the run.
    const read = async () => {
      const response = await fetch(`http://127.0.0.1:${proc!.port}/metrics`);
      expect(response.status).toBe(200);
      scraped = readScrape(await response.text());
      return scraped.sum('temporal_activity_schedule_to_start_latency_seconds_count');
    };
    const deadline = Date.now() + 15_000;
    while ((await read()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
  });
  afterAll(async () => {
    if (proc && proc.child.exitCode === null) {
      const exited = new Promise((resolve) => proc!.child.once('exit', resolve));
      proc.child.kill('SIGTERM');
      await exited;
    }
    await sys?.close();
  });

  it('serves the SDK figures (temporal_*) after ours, each family once, and the job run from the store', () => {
    expect(scraped.value('ops_sdk_metrics_up')).toBe(1);
    expect(scraped.value('ops_store_up')).toBe(1);
    expect(scraped.value('ops_job_runs_total', { job_name: 'sync_hubspot', outcome: 'succeeded' })).toBe(1);
    expect(scraped.value('ops_worker_up', { state: 'RUNNING' })).toBe(1);
    const sdk = scraped.families.filter((f) => f.name.startsWith('temporal_'));
    expect(sdk.length).toBeGreaterThan(5);
    // The run's workflow tasks and activities went through this worker.
    expect(scraped.sum('temporal_workflow_task_schedule_to_start_latency_seconds_count')).toBeGreaterThan(0);
    expect(scraped.sum('temporal_activity_schedule_to_start_latency_seconds_count')).toBeGreaterThan(0);
    expect(scraped.sum('temporal_workflow_completed_total')).toBeGreaterThan(0);
  });

  it('every panel of deploy/grafana-dashboard.json queries metrics this endpoint serves', () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana-dashboard.json'), 'utf8')) as unknown;
    const served = takenNames(scraped.families);
    const queries = panelQueries(dashboard);
    expect(queries.length).toBeGreaterThan(10);
    for (const { panel, expr } of queries) {
      const names = metricNamesOf(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(served.has(name), `${panel} queries ${name}, which /metrics does not serve`).toBe(true);
    }
  });
});
