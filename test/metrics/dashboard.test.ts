/** The dashboard's shape, and the query reader the served-metrics check rests on (test/metrics/sdk-metrics.test.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { metricNamesOf, panelQueries } from './dashboard';

describe('deploy/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync(join(__dirname, '..', '..', 'deploy', 'grafana-dashboard.json'), 'utf8')) as {
    templating: { list: { name: string; type: string; query: unknown }[] };
    panels: { type: string; id: number; datasource?: { uid: string }; targets?: { datasource?: { uid: string } }[] }[];
  };

  it('queries Prometheus through a datasource variable, in every panel and target; ids are unique', () => {
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    for (const panel of panels) {
      expect(panel.datasource?.uid).toBe('${datasource}');
      for (const target of panel.targets ?? []) expect(target.datasource?.uid).toBe('${datasource}');
    }
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('shows the main figures: runs, durations, dead letters, incidents, APIs, bucket use, controls, held notifications, SDK latencies', () => {
    const used = new Set(panelQueries(dashboard).flatMap((q) => metricNamesOf(q.expr)));
    for (const name of [
      'ops_job_runs_total',
      'ops_job_run_duration_seconds_bucket',
      'ops_dead_letters',
      'ops_incidents_open',
      'ops_api_requests_total',
      'ops_api_throttled_total',
      'ops_rate_limit_usage_ratio',
      'ops_kill_switch',
      'ops_control_enabled',
      'ops_notifications_held',
      'temporal_workflow_task_schedule_to_start_latency_seconds_bucket',
      'temporal_activity_schedule_to_start_latency_seconds_bucket',
    ]) {
      expect(used.has(name), name).toBe(true);
    }
  });
});

describe('metricNamesOf', () => {
  it('finds metric names, not functions, labels, keywords, ranges, numbers or variables', () => {
    expect(metricNamesOf('histogram_quantile(0.95, sum by (le, job_name) (rate(ops_x_bucket{job_name=~"$job_name"}[$__rate_interval])))')).toEqual(['ops_x_bucket']);
    expect(metricNamesOf('sum(rate(a_total[5m])) / ignoring (service) sum(b_total{service="x y"}) * 60')).toEqual(['a_total', 'b_total']);
    expect(metricNamesOf('max(ops_kill_switch) or vector(0)')).toEqual(['ops_kill_switch']);
  });
});
