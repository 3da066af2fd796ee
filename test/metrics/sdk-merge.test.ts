/**
 * Appending the SDK's text: a local endpoint on 127.0.0.1 stands in for Core's exporter, to serve
 * what it must never break (a family named like ours, a malformed text, no answer).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config';
import { createLogger } from '../../src/logger';
import { OpsMetrics } from '../../src/metrics/ops-metrics';
import { parsePrometheusText, TextFormatError, withoutCollisions } from '../../src/metrics/text-format';
import { migrateToLatest } from '../../src/store';
import { openTestStore, type TestStore } from '../store/fixtures';
import { readScrape } from './scrape';

const SDK_TEXT = [
  '# HELP temporal_request_total Client requests',
  '# TYPE temporal_request_total counter',
  'temporal_request_total{namespace="default",operation="PollWorkflowTaskQueue"} 3',
  '# HELP temporal_workflow_task_schedule_to_start_latency_seconds Schedule to start',
  '# TYPE temporal_workflow_task_schedule_to_start_latency_seconds histogram',
  'temporal_workflow_task_schedule_to_start_latency_seconds_bucket{le="0.1"} 1',
  'temporal_workflow_task_schedule_to_start_latency_seconds_bucket{le="+Inf"} 2',
  'temporal_workflow_task_schedule_to_start_latency_seconds_sum 0.3',
  'temporal_workflow_task_schedule_to_start_latency_seconds_count 2',
  '# HELP ops_store_up A family of the SDK named like one of ours',
  '# TYPE ops_store_up gauge',
  'ops_store_up 7',
  '',
].join('\n');

describe('the SDK text appended to ours', () => {
  let handle: TestStore;
  let server: Server;
  let answer: (res: ServerResponse) => void = (res) => res.end(SDK_TEXT);
  let url = '';
  beforeAll(async () => {
    handle = await openTestStore('sqlite');
    await migrateToLatest(handle.store);
    server = createServer((_req, res) => answer(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await handle.dispose();
  });
  const metrics = () =>
    new OpsMetrics({ store: handle.store, config: configSchema.parse({}), logger: createLogger('silent'), sdkEndpoint: () => url, sdkTimeoutMs: 300 });

  it('is appended; a family named like ours is left out (and said so), ours kept', async () => {
    answer = (res) => res.end(SDK_TEXT);
    const s = readScrape(await metrics().scrape());
    expect(s.value('ops_sdk_metrics_up')).toBe(1);
    expect(s.value('temporal_request_total', { namespace: 'default', operation: 'PollWorkflowTaskQueue' })).toBe(3);
    expect(s.value('temporal_workflow_task_schedule_to_start_latency_seconds_count')).toBe(2);
    expect(s.value('ops_store_up')).toBe(1);
    expect(s.text).toContain('# SDK metric families left out (their names are ours): ops_store_up');
  });

  it('a malformed SDK text is left out whole, with ops_sdk_metrics_up 0', async () => {
    answer = (res) => res.end('temporal_x{broken 1\n');
    const s = readScrape(await metrics().scrape());
    expect(s.value('ops_sdk_metrics_up')).toBe(0);
    expect(s.text).toMatch(/# Temporal SDK metrics not included: the SDK's text did not parse: line 1/);
    expect(s.has('ops_job_runs_total')).toBe(true);
  });

  it('an SDK endpoint that does not answer in time: ours served after the timeout', async () => {
    answer = () => undefined; // never answers
    const started = performance.now();
    const s = readScrape(await metrics().scrape());
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(s.value('ops_sdk_metrics_up')).toBe(0);
    expect(s.text).toContain('# Temporal SDK metrics not included: the SDK endpoint failed: no answer within 300 ms');
    expect(s.value('ops_store_up')).toBe(1);
  });

  it('an SDK endpoint that answers an error status', async () => {
    answer = (res) => {
      res.statusCode = 503;
      res.end('down');
    };
    const s = readScrape(await metrics().scrape());
    expect(s.value('ops_sdk_metrics_up')).toBe(0);
    expect(s.text).toContain('the SDK endpoint answered HTTP 503');
  });
});

describe('parsePrometheusText', () => {
  it('refuses a family split in two, a TYPE after samples, bad lines', () => {
    expect(() => parsePrometheusText('a 1\nb 2\na 3\n')).toThrow(TextFormatError);
    expect(() => parsePrometheusText('a 1\n# TYPE a gauge\n')).toThrow(/TYPE of a after its samples/);
    expect(() => parsePrometheusText('a{x="1",x="2"} 1\n')).toThrow(/label x twice/);
    expect(() => parsePrometheusText('a one\n')).toThrow(/bad value/);
  });

  it('reads labels with escapes, histogram samples into their family, special values', () => {
    const [h, g] = parsePrometheusText(
      '# TYPE h histogram\nh_bucket{le="+Inf",q="a\\"b\\\\c\\n"} 2\nh_sum 1.5\nh_count 2\n# TYPE g gauge\ng NaN\n',
    );
    expect(h!.samples.map((s) => s.name)).toEqual(['h_bucket', 'h_sum', 'h_count']);
    expect(h!.samples[0]!.labels).toEqual({ le: '+Inf', q: 'a"b\\c\n' });
    expect(Number.isNaN(g!.samples[0]!.value)).toBe(true);
  });

  it('withoutCollisions keeps whole families, and names the ones it leaves out', () => {
    const sdk = parsePrometheusText('# TYPE x_total counter\nx_total 1\n# TYPE y gauge\ny 2\n');
    const merged = withoutCollisions(sdk, new Set(['y']));
    expect(merged.dropped).toEqual(['y']);
    expect(merged.text).toBe('# TYPE x_total counter\nx_total 1');
  });
});
