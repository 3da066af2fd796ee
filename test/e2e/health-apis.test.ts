/**
 * health_monitor's API checks against the fakes (up, answering 401, down, not configured), and its
 * health alert through the incident lifecycle: one open per key, one alert per type per hour (an
 * injected clock moves the hour), resolved by the next healthy run with what recovered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiCheck, HealthReport } from '../../src/activities/health';
import type { JobResult } from '../../src/definitions';
import { latestHealthCheck, listIncidents, listOpenIncidents } from '../../src/store';
import { sourceTaskQueue, type SourceName } from '../../src/sources';
import { readsControlsFirst } from '../../src/activities/boundary';
import { HEALTH_ACTIVITY_NAMES } from '../../src/activities/health';
import { DIRECT_ALERT_ACTIVITY_NAMES } from '../../src/activities/direct-alert';
import { HubSpotFake, N8nFake, NotionFake, type HttpFake } from '../fakes';
import { freePort } from '../helpers/ports';
import { startSystem, type TestSystem } from '../helpers/system';

const MINUTE = 60_000;

interface HealthOutput {
  healthy: boolean;
  recorded: boolean;
  alerted: boolean;
  incidentId?: number;
  resolved: number[];
  report: HealthReport;
}

function outputOf(result: JobResult): HealthOutput {
  expect(result.outcome, result.error ?? result.reason).toBe('succeeded');
  return result.output as unknown as HealthOutput;
}

function api(output: HealthOutput, source: 'notion' | 'n8n' | 'hubspot'): ApiCheck {
  const check = output.report.apis?.[source];
  if (!check) throw new Error(`no ${source} check in the report`);
  return check;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`health_monitor's API checks on ${dialect}`, () => {
    const notion = new NotionFake();
    const n8n = new N8nFake();
    const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(3) });
    const fakes: HttpFake[] = [notion, n8n, hubspot];
    let nowMs = Date.parse('2026-11-27T10:05:00.000Z');
    let sys: TestSystem;

    beforeAll(async () => {
      await Promise.all(fakes.map((f) => f.start()));
      sys = await startSystem({
        dialect,
        now: () => new Date(nowMs),
        config: {
          limits: { minFreeDiskMb: 1 },
          sources: {
            notion: { token: notion.token, baseUrl: notion.url },
            n8n: { baseUrl: n8n.url, apiKey: n8n.apiKey },
            hubspot: { token: hubspot.token, baseUrl: hubspot.url },
          },
        },
      });
    }, 120_000);
    afterAll(async () => {
      await sys?.close();
      await Promise.all(fakes.map((f) => f.close()));
    });

    const healthAlerts = async () => (await listIncidents(sys.store.db, { limit: 100 })).filter((i) => i.type === 'health_alert');

    it('a healthy run reads each configured API once, with its credentials, on its own task queue, and records the run', async () => {
      const before = fakes.map((f) => f.requests.length);
      const result = await sys.ops.runJob('health_monitor');
      const output = outputOf(result);
      expect(output).toMatchObject({ healthy: true, recorded: true, alerted: false, resolved: [] });
      for (const source of ['notion', 'n8n', 'hubspot'] as const) expect(api(output, source)).toMatchObject({ configured: true, ok: true });

      const made = fakes.map((f, i) => f.requests.slice(before[i]).map((r) => ({ method: r.method, path: r.path, query: r.query, status: r.status })));
      expect(made[0]).toEqual([{ method: 'GET', path: '/v1/users/me', query: {}, status: 200 }]);
      expect(made[1]).toEqual([{ method: 'GET', path: '/api/v1/executions', query: { limit: '1', includeData: 'false' }, status: 200 }]);
      expect(made[2]).toEqual([{ method: 'GET', path: '/crm/v3/objects/contacts', query: expect.objectContaining({ limit: '1' }) as unknown, status: 200 }]);
      expect(notion.requests.at(-1)!.headers.authorization).toBe(`Bearer ${notion.token}`);
      expect(hubspot.writeRequests()).toEqual([]);

      // Each API's check shares that API's rate-limited queue with its sync.
      const history = await sys.client.workflow.getHandle(result.workflowId).fetchHistory();
      const queues = (history.events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes)
        .filter((a) => a?.activityType?.name === 'checkSourceApi')
        .map((a) => a!.taskQueue?.name)
        .sort();
      expect(queues).toEqual(['hubspot', 'n8n', 'notion'].map((source) => sourceTaskQueue(sys.config.temporal.taskQueue, source as SourceName)));

      const row = await latestHealthCheck(sys.store.db);
      expect(row).toMatchObject({ healthy: 1 });
      expect(JSON.parse(row!.checks)).toMatchObject({ apis: { notion: { ok: true }, n8n: { ok: true }, hubspot: { ok: true } } });
    });

    it('an API answering 401 is unhealthy: one WARN health alert, and a recurrence in the hour adds no second one', async () => {
      for (const fake of fakes) fake.fail({ status: 401 });
      const first = outputOf(await sys.ops.runJob('health_monitor'));
      expect(first).toMatchObject({ healthy: false, recorded: true, alerted: true });
      for (const source of ['notion', 'n8n', 'hubspot'] as const) {
        expect(api(first, source)).toMatchObject({ configured: true, ok: false, detail: expect.stringMatching(/HTTP 401/) as unknown });
      }
      expect(first.report).toMatchObject({ store: { ok: true }, temporal: { ok: true }, disk: { ok: true } });

      nowMs += 10 * MINUTE;
      for (const fake of fakes) fake.fail({ status: 401 });
      const second = outputOf(await sys.ops.runJob('health_monitor'));
      expect(second).toMatchObject({ healthy: false, alerted: false, incidentId: first.incidentId });

      const alerts = await healthAlerts();
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ subject: 'system', severity: 'WARN', title: 'System Health Degraded', status: 'open', occurrences: 2 });
      expect(alerts[0]!.body).toMatch(/^notion: .*401/m);
      expect(alerts[0]!.body).toMatch(/^hubspot: .*401/m);
      expect(alerts[0]!.body).toMatch(/^OK: store, temporal, disk$/m);
      expect(fakes.every((f) => f.pendingFaults === 0)).toBe(true);
    });

    it('the next healthy run resolves the health alert, naming what recovered', async () => {
      nowMs += MINUTE;
      const output = outputOf(await sys.ops.runJob('health_monitor'));
      const [open] = await healthAlerts();
      expect(output).toMatchObject({ healthy: true, resolved: [open!.id] });
      expect(open).toMatchObject({ status: 'resolved', resolved_by: 'health_monitor' });
      expect(open!.resolved_reason).toMatch(/^health OK again: notion, n8n, hubspot recovered/);
      expect(await listOpenIncidents(sys.store.db, { type: 'health_alert' })).toEqual([]);
      // Nothing open: a healthy run has nothing to resolve.
      expect(outputOf(await sys.ops.runJob('health_monitor'))).toMatchObject({ healthy: true, resolved: [] });
    });

    it('a new degradation within the hour of the last alert is recorded without an alert; an hour later it alerts again', async () => {
      n8n.fail({ status: 401 });
      const within = outputOf(await sys.ops.runJob('health_monitor'));
      expect(within).toMatchObject({ healthy: false, alerted: false });
      expect(api(within, 'notion')).toMatchObject({ ok: true });
      nowMs += MINUTE;
      expect(outputOf(await sys.ops.runJob('health_monitor'))).toMatchObject({ healthy: true, resolved: [within.incidentId] });

      nowMs += 61 * MINUTE;
      hubspot.fail({ status: 401 });
      const later = outputOf(await sys.ops.runJob('health_monitor'));
      expect(later).toMatchObject({ healthy: false, alerted: true });
      const alerts = await healthAlerts();
      expect(alerts.map((a) => a.status)).toEqual(['open', 'resolved', 'resolved']);
      expect(alerts[0]!.body).toMatch(/^hubspot: /m);
      expect(alerts[0]!.body).not.toMatch(/^n8n: /m);
    });
  });

  describe(`health_monitor with APIs down or not configured on ${dialect}`, () => {
    let sys: TestSystem;
    beforeAll(async () => {
      // Nothing listens there: the connection is refused, as with an API that is down.
      const dead = `http://127.0.0.1:${await freePort()}`;
      sys = await startSystem({
        dialect,
        config: { limits: { minFreeDiskMb: 1 }, sources: { n8n: { baseUrl: dead, apiKey: 'k' }, hubspot: { token: 't', baseUrl: dead } } },
      });
    }, 120_000);
    afterAll(async () => {
      await sys?.close();
    });

    it('a hand-started directAlert with a bad input fails at once, naming what is wrong, and sends nothing', async () => {
      const start = (args: unknown, id: string) =>
        sys.client.workflow.execute('directAlert', { taskQueue: sys.config.temporal.taskQueue, workflowId: `${id}-${dialect}`, args: [args] }).then(
          () => 'completed',
          (err: unknown) => String((err as { cause?: { message?: string } }).cause?.message),
        );
      expect(await start({ request: { idempotencyKey: 'k', severity: 'LOUD', type: 't', title: 'x', body: '' } }, 'bad-severity')).toMatch(/Invalid notification: severity/);
      expect(await start({ request: { idempotencyKey: 'k', severity: 'SEV1', type: 't', title: 'x', body: '' }, incident: { subject: 42 } }, 'bad-subject')).toMatch(
        /incident\.subject must be a non-empty string/,
      );
      expect(await start(null, 'no-input')).toMatch(/Invalid notification/);
    });

    it('reports the APIs that are down as unhealthy and the unconfigured one as not configured', async () => {
      const output = outputOf(await sys.ops.runJob('health_monitor'));
      expect(output).toMatchObject({ healthy: false, alerted: true });
      expect(api(output, 'notion')).toEqual({ configured: false, missing: 'NOTION_TOKEN' });
      expect(api(output, 'n8n')).toMatchObject({ configured: true, ok: false, detail: expect.stringMatching(/unreachable|ECONNREFUSED|fetch failed/) as unknown });
      expect(api(output, 'hubspot')).toMatchObject({ configured: true, ok: false });
      const [alert] = (await listIncidents(sys.store.db, {})).filter((i) => i.type === 'health_alert');
      expect(alert!.body).toMatch(/^n8n: /m);
      expect(alert!.body).toMatch(/^hubspot: /m);
      expect(alert!.body).not.toMatch(/^notion: /m);
      expect(alert!.body).toMatch(/^Not configured: notion$/m);
    });
  });
}

describe('the activity boundary', () => {
  it('reads the controls from the store before every activity but the health checks and direct alerts (and bookkeeping, routed sends)', () => {
    for (const name of [...HEALTH_ACTIVITY_NAMES, ...DIRECT_ALERT_ACTIVITY_NAMES]) expect(readsControlsFirst(name), name).toBe(false);
    expect([...HEALTH_ACTIVITY_NAMES]).toEqual(expect.arrayContaining(['checkStore', 'checkTemporal', 'checkDisk', 'checkSourceApi', 'recordHealth']));
    // The kill switch's last line stays for everything else, including names it has never seen.
    for (const name of ['syncSourcePage', 'beginSourceSync', 'anythingNew']) expect(readsControlsFirst(name), name).toBe(true);
  });
});
