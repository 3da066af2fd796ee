/**
 * health_monitor when the store goes down: the store is reported unhealthy (never thrown), and as
 * the store cannot take the alert it goes straight to the operator's SMS as SEV1, once per hour
 * (Temporal refuses a second delivery workflow of the hour; an injected clock moves the hour).
 * A run that fails while the store is down reaches the operator at once the same way.
 * SQLite: another process holds the file under BEGIN EXCLUSIVE. PostgreSQL: the worker reaches
 * the database through a TCP line that the test cuts (every connection closed, nothing listening).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { sqlitePath } from '../../src/config';
import type { JobResult } from '../../src/definitions';
import { createLogger } from '../../src/logger';
import { listIncidents, listNotifications, openStore, type Store } from '../../src/store';
import { createWorker, type OpsWorker } from '../../src/worker';
import { startCommsFakes, OPERATOR_PHONE, type CommsFakes } from '../helpers/comms';
import { holdSqliteLock, type HeldLock } from '../helpers/sqlite-lock';
import { startSystem, TEST_DATABASE_URL, type TestSystem } from '../helpers/system';

const HOUR = 3600_000;

/** Whether the run's history has a completed activity of this type (the run got past it). */
async function completedActivity(sys: TestSystem, workflowId: string, activityType: string): Promise<boolean> {
  const history = await sys.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const scheduled = new Set(
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType).map((e) => Number(e.eventId)),
  );
  return events.some((e) => scheduled.has(Number(e.activityTaskCompletedEventAttributes?.scheduledEventId)));
}

async function passes(sys: TestSystem, workflowId: string, activityType: string): Promise<void> {
  await expect.poll(() => completedActivity(sys, workflowId, activityType), { timeout: 60_000, interval: 250 }).toBe(true);
}

interface Sms {
  to: string;
  message: string;
}

function healthOutput(result: JobResult) {
  expect(result.outcome, result.error ?? result.reason).toBe('succeeded');
  return result.output as { healthy: boolean; recorded: boolean; alerted: boolean; direct?: { started: boolean; workflowId: string }; report: { store: { ok: boolean; detail?: string } } };
}

describe('health_monitor with the SQLite store locked by another process', () => {
  let comms: CommsFakes;
  let sys: TestSystem;
  let nowMs = Date.parse('2026-11-27T10:05:00.000Z');
  beforeAll(async () => {
    comms = await startCommsFakes();
    sys = await startSystem({ now: () => new Date(nowMs), config: { limits: { minFreeDiskMb: 1 }, ...comms.config() } });
    await sys.ops.ensureControls();
  }, 120_000);
  afterAll(async () => {
    await sys?.close();
    await comms?.close();
  });

  it('reports the store unhealthy and sends the SEV1 alert directly, once per hour', async () => {
    const sms = comms.salesmsg.sent as Sms[];
    let lock: HeldLock | undefined;
    try {
      lock = await holdSqliteLock(sqlitePath(sys.config), 110_000);
      const first = await sys.ops.startJob('health_monitor');
      await expect.poll(() => sms.length, { timeout: 60_000, interval: 250 }).toBe(1);
      expect(sms[0]!.to).toBe(OPERATOR_PHONE);
      expect(sms[0]!.message).toMatch(/^\[SEV1\] System Health Degraded \(the store cannot record it\)\nstore: .*locked/);
      expect(sms[0]!.message).toMatch(/The store did not take the alert: /);

      // Same hour: the run reports it again, and the server refuses a second delivery.
      const second = await sys.ops.startJob('health_monitor');
      await passes(sys, second.workflowId, 'alertHealthDirect');

      nowMs += HOUR;
      const third = await sys.ops.startJob('health_monitor');
      await passes(sys, third.workflowId, 'alertHealthDirect');
      await expect.poll(() => sms.length, { timeout: 60_000, interval: 250 }).toBe(2);

      await lock.release();
      const [r1, r2, r3] = await Promise.all([first, second, third].map((run) => sys.ops.jobResult(run.workflowId)));
      expect(healthOutput(r1!)).toMatchObject({ healthy: false, recorded: false, alerted: true, direct: { started: true }, report: { store: { ok: false } } });
      expect(healthOutput(r2!)).toMatchObject({ healthy: false, recorded: false, alerted: false, direct: { started: false } });
      expect(healthOutput(r3!)).toMatchObject({ healthy: false, recorded: false, alerted: true, direct: { started: true } });
      expect(healthOutput(r1!).direct!.workflowId).toBe(healthOutput(r2!).direct!.workflowId);
      expect(healthOutput(r3!).direct!.workflowId).not.toBe(healthOutput(r1!).direct!.workflowId);
      expect(sms).toHaveLength(2);

      // Once the store is back, the alerts sent directly are recorded on the health alert incident (not routed again)...
      const healthAlerts = async () => (await listIncidents(sys.store.db, {})).filter((i) => i.type === 'health_alert');
      await expect.poll(async () => (await healthAlerts())[0]?.occurrences, { timeout: 90_000, interval: 500 }).toBe(2);
      const [recorded] = await healthAlerts();
      expect(recorded).toMatchObject({ subject: 'system', severity: 'SEV1', status: 'open', job: 'health_monitor' });
      expect(recorded!.body).toMatch(/^store: .*locked/m);
      expect(recorded!.body).toMatch(/Sent directly by sms to \+…\d{4}, while the store could not take it/);
      expect(await listNotifications(sys.store.db, { limit: 100 })).toEqual([]);

      // ...and the next run, healthy, resolves it: the store recovered. It sends nothing.
      const after = healthOutput(await sys.ops.runJob('health_monitor'));
      expect(after).toMatchObject({ healthy: true, recorded: true, resolved: [recorded!.id] });
      const [resolved] = await healthAlerts();
      expect(resolved).toMatchObject({ status: 'resolved', resolved_by: 'health_monitor' });
      expect(resolved!.resolved_reason).toMatch(/^health OK again: store recovered/);
      expect(sms).toHaveLength(2);
    } finally {
      await lock?.release();
    }
  }, 240_000);
});

/**
 * A TCP line between the worker and PostgreSQL. down(): every connection cut and the port closed
 * (a database that is gone). cutOn(text): goes down by itself the moment a client sends `text`,
 * so the store fails in the middle of a run, after the run joined the controls.
 */
class StoreLine {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private trigger: Buffer | undefined;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    const server = createServer((client) => this.connectClient(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  cutOn(text: string): void {
    this.trigger = Buffer.from(text);
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.trigger = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private connectClient(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (this.trigger && chunk.includes(this.trigger)) {
        void this.down();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
  }
}

describe('health_monitor with the PostgreSQL store going down', () => {
  let comms: CommsFakes;
  let sys: TestSystem;
  let line: StoreLine;
  let workerStore: Store;
  let worker: OpsWorker;
  let running: Promise<void>;
  let native: NativeConnection;
  let nowMs = Date.parse('2026-11-27T10:05:00.000Z');
  const now = () => new Date(nowMs);

  beforeAll(async () => {
    comms = await startCommsFakes();
    sys = await startSystem({ dialect: 'postgres', startWorker: false, now, config: { limits: { minFreeDiskMb: 1 }, ...comms.config() } });
    const target = new URL(TEST_DATABASE_URL);
    line = new StoreLine({ host: target.hostname, port: Number(target.port || 5432) });
    await line.up();
    const schema = (await sql<{ s: string }>`select current_schema() as s`.execute(sys.store.db)).rows[0]!.s;
    const proxied = new URL(TEST_DATABASE_URL);
    proxied.host = `127.0.0.1:${line.port}`;
    workerStore = await openStore({ databaseUrl: proxied.toString(), pgSchema: schema, sqlitePath: sqlitePath(sys.config) });
    native = await NativeConnection.connect({ address: sys.config.temporal.address });
    worker = await createWorker({ config: sys.config, connection: native, client: sys.client, store: workerStore, logger: createLogger('silent'), now });
    running = worker.run();
    await sys.ops.ensureControls();
  }, 120_000);
  afterAll(async () => {
    await line?.up().catch(() => undefined);
    worker?.shutdown();
    await running;
    await native?.close();
    await workerStore?.close();
    await sys?.close();
    await comms?.close();
    await line?.down();
  });

  it('a store lost mid-run is reported unhealthy and alerted directly as SEV1, once per hour', async () => {
    const sms = comms.salesmsg.sent as Sms[];
    // The store goes when the store check's own statement reaches it: the run has joined the controls.
    line.cutOn('select 1\0');
    const first = await sys.ops.startJob('health_monitor');
    await expect.poll(() => sms.length, { timeout: 60_000, interval: 250 }).toBe(1);
    expect(sms[0]!.message).toMatch(/^\[SEV1\] System Health Degraded \(the store cannot record it\)\nstore: /);

    await line.up();
    line.cutOn('select 1\0');
    const second = await sys.ops.startJob('health_monitor');
    await passes(sys, second.workflowId, 'alertHealthDirect');

    nowMs += HOUR;
    await line.up();
    line.cutOn('select 1\0');
    const third = await sys.ops.startJob('health_monitor');
    await passes(sys, third.workflowId, 'alertHealthDirect');
    await expect.poll(() => sms.length, { timeout: 60_000, interval: 250 }).toBe(2);

    await line.up();
    const [r1, r2, r3] = await Promise.all([first, second, third].map((run) => sys.ops.jobResult(run.workflowId)));
    expect(healthOutput(r1!)).toMatchObject({ healthy: false, recorded: false, alerted: true, direct: { started: true }, report: { store: { ok: false } } });
    expect(healthOutput(r2!)).toMatchObject({ healthy: false, recorded: false, alerted: false, direct: { started: false } });
    expect(healthOutput(r3!)).toMatchObject({ healthy: false, recorded: false, alerted: true, direct: { started: true } });
    expect(sms).toHaveLength(2);

    // Recorded once the store is back, then resolved by the next healthy run.
    const healthAlerts = async () => (await listIncidents(sys.store.db, {})).filter((i) => i.type === 'health_alert');
    await expect.poll(async () => (await healthAlerts())[0]?.occurrences, { timeout: 90_000, interval: 500 }).toBe(2);
    expect((await healthAlerts())[0]).toMatchObject({ subject: 'system', severity: 'SEV1', status: 'open' });
    expect(healthOutput(await sys.ops.runJob('health_monitor'))).toMatchObject({ healthy: true, resolved: [(await healthAlerts())[0]!.id] });
    expect((await healthAlerts())[0]!.resolved_reason).toMatch(/^health OK again: store recovered/);
    expect(sms).toHaveLength(2);
  }, 240_000);

  it('a run that fails because the store is gone alerts SEV1 at once, directly, once per hour', async () => {
    const sms = comms.salesmsg.sent as Sms[];
    const before = sms.length;
    nowMs += HOUR;
    await line.down();
    const first = await sys.ops.startJob('health_monitor');
    await expect.poll(() => sms.length, { timeout: 90_000, interval: 250 }).toBe(before + 1);
    expect(sms.at(-1)!.message).toMatch(/^\[SEV1\] health_monitor failed \(the store cannot record it\)\n\w+ error: Store unavailable: .*ECONNREFUSED/);

    const second = await sys.ops.startJob('health_monitor');
    await passes(sys, second.workflowId, 'alertRunFailedDirect');
    expect(sms).toHaveLength(before + 1);

    await line.up();
    const [r1, r2] = await Promise.all([first, second].map((run) => sys.ops.jobResult(run.workflowId)));
    for (const result of [r1, r2]) {
      expect(result).toMatchObject({ outcome: 'failed' });
      expect(result!.error).toMatch(/Store unavailable/);
    }
  }, 240_000);
});
