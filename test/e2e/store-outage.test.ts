/**
 * A store outage on SQLite: another process holds the file under BEGIN EXCLUSIVE for a while
 * (an operator's sqlite3 shell, a stuck process). The worker's event loop keeps turning, every
 * run that started during the outage is recorded and alerted once the store is back, and the
 * kill switch works all along: `kill on` takes effect at once (its mirror and audit row follow
 * when the store is back), while `kill off` is refused until the store can take it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlitePath } from '../../src/config';
import { PENDING_CONTROLS_MEMO } from '../../src/controls-model';
import { CONTROLS_WORKFLOW_ID, getControlsQuery, SKIP_REASONS } from '../../src/definitions';
import { listAudit, listDeadLetters, listIncidents, listNotifications, readControls } from '../../src/store';
import { lagProbe } from '../helpers/event-loop-lag';
import { opsctlFor } from '../helpers/opsctl';
import { holdSqliteLock, type HeldLock } from '../helpers/sqlite-lock';
import { restartControlsWithShortHistory, startGatedJob, startSystem, startTestJob, type TestSystem } from '../helpers/system';

const LOCK_MS = 20_000;
/** Long enough for the mirror write to be tried, and refused, several times. */
const KILL_LOCK_MS = 15_000;
const who = { actor: 'test', reason: 'store outage test' };

/** Every message of an error and its causes, so the test sees what an operator would be shown. */
function messages(err: unknown): string {
  if (err === undefined) return '(no error: the change was accepted)';
  const parts: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e && parts.length < 10; e = e.cause as typeof e) parts.push(String(e.message));
  return parts.join(' <- ');
}

/** The audit rows of controls changes that produced `version`. */
async function controlsAuditOf(sys: TestSystem, version: number) {
  const rows = await listAudit(sys.store.db, { job: 'controls.update', limit: 1000 });
  return rows.filter((row) => (JSON.parse(row.output_data ?? '{}') as { version?: number }).version === version);
}

describe('a SQLite store locked by another process', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
    // ops-controls running and its mirror written before the outage, as in a running system.
    await sys.ops.setKillSwitch(false, who);
  });
  afterAll(async () => {
    await sys.close();
  });

  it('keeps the event loop free and ops-controls answering, then records and alerts every run it broke', async () => {
    // Whatever another test left: the jobs below must meet the store, not the kill switch.
    await sys.ops.setKillSwitch(false, who);
    const lag = lagProbe(20);
    let lock: HeldLock | undefined;
    try {
      lock = await holdSqliteLock(sqlitePath(sys.config), LOCK_MS);
      const lockedAt = performance.now();
      lag.reset(lockedAt);

      const runs = await Promise.all(['health_monitor', 'process_retry_queue', 'sync_n8n'].map((job) => sys.ops.startJob(job)));

      // Workflow tasks keep running: a query to ops-controls is answered at once.
      const queried = performance.now();
      expect((await sys.ops.getControls()).killSwitch).toBe(false);
      expect(performance.now() - queried).toBeLessThan(2000);

      expect(performance.now() - lockedAt).toBeLessThan(LOCK_MS);

      await lock.released;
      const lagDuringOutage = lag.maxLagMs();
      // Old code: each statement slept up to 5 s inside better-sqlite3, the whole worker with it.
      expect(lagDuringOutage).toBeLessThan(200);

      // Once the store is back, every run has its one audit row; failed ones their dead letter and alert.
      const results = await Promise.all(runs.map((run) => sys.ops.jobResult(run.workflowId)));
      const byJob = Object.fromEntries(results.map((r) => [r.job, r]));
      // health_monitor reports the store down instead of failing on it (test/e2e/health-store-down.test.ts).
      expect(byJob.health_monitor).toMatchObject({ outcome: 'succeeded', output: { healthy: false, recorded: false, report: { store: { ok: false } } } });
      expect(byJob.process_retry_queue).toMatchObject({ outcome: 'failed', category: 'database' });
      expect(JSON.stringify(byJob.health_monitor!.output)).toMatch(/Store unavailable: .*locked/);
      // n8n is not configured in this system: skipped, and recorded as such.
      expect(byJob.sync_n8n).toMatchObject({ outcome: 'skipped' });

      const audit = await listAudit(sys.store.db, { limit: 1000 });
      for (const result of results) {
        const rows = audit.filter((row) => row.workflow_id === result.workflowId && row.action_type === 'system');
        expect(rows, `audit rows of ${result.job}`).toHaveLength(1);
        expect(rows[0]).toMatchObject({ action: result.job, outcome: result.outcome });
      }
      const letters = await listDeadLetters(sys.store.db, {});
      const incidents = await listIncidents(sys.store.db, { limit: 1000 });
      const notifications = await listNotifications(sys.store.db, { limit: 1000 });
      for (const failed of [byJob.process_retry_queue!]) {
        const letter = letters.filter((l) => l.workflow_id === failed.workflowId);
        expect(letter, `dead letter of ${failed.job}`).toHaveLength(1);
        expect(letter[0]).toMatchObject({ job: failed.job, category: 'database', status: 'open' });
        const raised = incidents.filter((i) => i.related_workflow_id === failed.workflowId && i.type === 'dead_letter');
        expect(raised, `incident of ${failed.job}`).toHaveLength(1);
        // Through the router: a WARN is held for the daily digest, under the incident's key.
        expect(notifications.filter((n) => n.idempotency_key === `incident:${raised[0]!.id}`)).toHaveLength(1);
      }
      expect(letters.filter((l) => l.workflow_id === byJob.sync_n8n!.workflowId)).toEqual([]);
    } finally {
      lag.stop();
      await lock?.release();
    }
  }, 120_000);

  it('kill on takes effect at once: a running job stops, a job started meanwhile is skipped, mirror and audit row follow once; kill off is refused', async () => {
    await sys.ops.setKillSwitch(false, who);
    const before = await sys.ops.getControls();
    const runningId = await startGatedJob(sys, `outage-running-${before.version}`);
    const killWho = { actor: 'jonah', reason: 'kill during a store outage' };
    const opsctl = opsctlFor(sys);
    let lock: HeldLock | undefined;
    try {
      lock = await holdSqliteLock(sqlitePath(sys.config), KILL_LOCK_MS);
      const lockedAt = performance.now();

      // The store cannot take the change, and the kill switch is on all the same, within one store wait (2 s).
      const asked = performance.now();
      const kill = await opsctl('kill', 'on', '--reason', killWho.reason);
      const killOnMs = performance.now() - asked;
      expect(kill.code, kill.stderr).toBe(0);
      expect(kill.stdout).toMatch(/kill switch +ON/);
      expect(kill.stdout).toMatch(/store mirror +PENDING: The store has not taken this change yet \(Store unavailable: .*locked.*written as soon as the store is back/);
      const killed = await sys.ops.getControls();
      expect(killed).toMatchObject({ killSwitch: true, version: before.version + 1, updatedBy: killWho.actor, mirror: 'pending' });
      expect(killed.warning).toMatch(/Store unavailable: .*locked.*written as soon as the store is back/);
      expect(killOnMs).toBeLessThan(4000);
      process.stdout.write(`kill on during the lock took ${Math.round(killOnMs)} ms\n`);

      // Where a joining job looks while the store is behind: ops-controls' memo, read by describe.
      const controlsHandle = sys.client.workflow.getHandle(CONTROLS_WORKFLOW_ID);
      expect((await controlsHandle.describe()).memo?.[PENDING_CONTROLS_MEMO]).toMatchObject({ killSwitch: true, version: killed.version });

      // The running job stops now, inside the outage: its blocked activity is cancelled.
      await expect.poll(() => sys.acts.cancelled.includes(runningId), { timeout: 10_000 }).toBe(true);

      // A job that starts now finds the older mirror (kill switch off) in the store: it must run no step.
      const lateId = await startTestJob(sys, 'stepsJob', `outage-late-${before.version}`, { params: { count: 3 } });

      // Loosening cannot wait for the store: refused, saying why, and nothing changes.
      const refusal = await sys.ops.setKillSwitch(false, who).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(messages(refusal)).toMatch(/Store unavailable: .*locked.*The controls were NOT changed: a change that loosens them must reach the store first/);
      const off = await opsctl('kill', 'off', '--reason', 'too early');
      expect(off.code).toBe(1);
      expect(off.stderr).toMatch(/the controls were not changed: .*locked.*a change that loosens them must reach the store first/);
      expect(await sys.ops.getControls()).toMatchObject({ killSwitch: true, version: killed.version, mirror: 'pending' });

      // The store has none of it yet: its mirror is the one from before the outage.
      expect(await readControls(sys.store.db)).toMatchObject({ killSwitch: false, version: before.version });
      expect(performance.now() - lockedAt).toBeLessThan(KILL_LOCK_MS);

      await lock.released;
      const releasedAt = performance.now();

      // The workflow's retries write the mirror and the change's audit row, once, after the outage.
      await expect.poll(async () => (await readControls(sys.store.db))?.version, { timeout: 45_000, interval: 250 }).toBe(killed.version);
      process.stdout.write(`mirror written ${Math.round(performance.now() - releasedAt)} ms after the lock was released\n`);
      expect(await readControls(sys.store.db)).toMatchObject({ killSwitch: true, updatedBy: killWho.actor });
      const rows = await controlsAuditOf(sys, killed.version);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ ...killWho, success: 1 });
      expect(JSON.parse(rows[0]!.input_data ?? '{}')).toEqual({ killSwitch: true });
      // The refused kill off left no trace.
      expect(await controlsAuditOf(sys, killed.version + 1)).toEqual([]);
      const after = await sys.ops.getControls();
      expect(after).toMatchObject({ killSwitch: true, version: killed.version });
      expect(after.mirror).toBeUndefined();
      expect((await controlsHandle.describe()).memo?.[PENDING_CONTROLS_MEMO]).toBeUndefined();

      const running = await sys.ops.jobResult(runningId);
      expect(running).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.killSwitch });
      expect(sys.acts.stepCalls(runningId)).toEqual(['one']);
      const late = await sys.ops.jobResult(lateId);
      expect(late).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.killSwitch });
      expect(sys.acts.stepCalls(lateId)).toEqual([]);

      // Nothing more is written later (one audit row, not one per retry).
      expect(await controlsAuditOf(sys, killed.version)).toHaveLength(1);
    } finally {
      await lock?.release();
    }
    // With the store back, kill off works again.
    const off = await sys.ops.setKillSwitch(false, who);
    expect(off.killSwitch).toBe(false);
    expect(off.mirror).toBeUndefined();
    expect(await readControls(sys.store.db)).toMatchObject({ killSwitch: false, version: off.version });
  }, 120_000);

  it('changes waiting for the store are carried across continue-as-new and each written once, in order', async () => {
    await sys.ops.changeControls({ killSwitch: false, commsEnabled: true, writeEnabled: true, ...who });
    // A fresh ops-controls with a short history, so that it continues as new during the outage.
    const { handle, firstRun, before } = await restartControlsWithShortHistory(sys, 30);
    let lock: HeldLock | undefined;
    try {
      lock = await holdSqliteLock(sqlitePath(sys.config), KILL_LOCK_MS);
      const lockedAt = performance.now();
      const killed = await sys.ops.setKillSwitch(true, { actor: 'operator', reason: 'outage 1' });
      // The store is known to be behind: later stricter changes are queued without a store wait.
      const asked = performance.now();
      const quiet = await sys.ops.changeControls({ commsEnabled: false, actor: 'operator', reason: 'outage 2' });
      const writes = await sys.ops.changeControls({ writeEnabled: false, actor: 'operator', reason: 'outage 3' });
      expect(performance.now() - asked).toBeLessThan(2000);
      expect([killed.version, quiet.version, writes.version]).toEqual([before.version + 1, before.version + 2, before.version + 3]);
      expect(writes).toMatchObject({ killSwitch: true, commsEnabled: false, writeEnabled: false, mirror: 'pending' });

      await expect.poll(async () => (await handle.describe()).runId, { timeout: KILL_LOCK_MS }).not.toBe(firstRun);
      expect(performance.now() - lockedAt).toBeLessThan(KILL_LOCK_MS);
      expect(await handle.query(getControlsQuery)).toMatchObject({ version: writes.version, mirror: 'pending' });
      expect(await readControls(sys.store.db)).toMatchObject({ version: before.version });

      await lock.released;
      await expect.poll(async () => (await readControls(sys.store.db))?.version, { timeout: 45_000, interval: 250 }).toBe(writes.version);
      expect(await readControls(sys.store.db)).toMatchObject({ killSwitch: true, commsEnabled: false, writeEnabled: false });
      for (const [state, reason] of [
        [killed, 'outage 1'],
        [quiet, 'outage 2'],
        [writes, 'outage 3'],
      ] as const) {
        const rows = await controlsAuditOf(sys, state.version);
        expect(rows, `audit rows of version ${state.version}`).toHaveLength(1);
        expect(rows[0]).toMatchObject({ actor: 'operator', reason });
      }
      const ids = await Promise.all([killed, quiet, writes].map(async (state) => (await controlsAuditOf(sys, state.version))[0]!.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect((await handle.query(getControlsQuery)).mirror).toBeUndefined();
    } finally {
      await lock?.release();
    }
    const restored = await sys.ops.changeControls({ killSwitch: false, commsEnabled: true, writeEnabled: true, ...who });
    expect(restored.mirror).toBeUndefined();
  }, 120_000);
});
