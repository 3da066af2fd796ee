/**
 * A store outage on SQLite: another process holds the file under BEGIN EXCLUSIVE for a while
 * (an operator's sqlite3 shell, a stuck process). The worker's event loop keeps turning, the
 * kill switch answers at once (refused, with the reason, since its change cannot be stored), and
 * every run that started during the outage is recorded and alerted once the store is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlitePath } from '../../src/config';
import { listAudit, listDeadLetters, listIncidents, listNotifications } from '../../src/store';
import { holdSqliteLock, type HeldLock } from '../helpers/sqlite-lock';
import { startSystem, type TestSystem } from '../helpers/system';

const LOCK_MS = 20_000;
const who = { actor: 'test', reason: 'store outage test' };

/** Every message of an error and its causes, so the test sees what an operator would be shown. */
function messages(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e && parts.length < 10; e = e.cause as typeof e) parts.push(String(e.message));
  return parts.join(' <- ');
}

describe('a SQLite store locked by another process for 20 s', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
    // ops-controls running and its mirror written before the outage, as in a running system.
    await sys.ops.setKillSwitch(false, who);
  });
  afterAll(async () => {
    await sys.close();
  });

  it('keeps the event loop free and the kill switch prompt, then records and alerts every run it broke', async () => {
    let last = performance.now();
    let maxLagMs = 0;
    const tick = () => {
      const now = performance.now();
      maxLagMs = Math.max(maxLagMs, now - last - 20);
      last = now;
    };
    const probe = setInterval(tick, 20);
    let lock: HeldLock | undefined;
    try {
      lock = await holdSqliteLock(sqlitePath(sys.config), LOCK_MS);
      const lockedAt = performance.now();
      last = lockedAt;
      maxLagMs = 0;

      const runs = await Promise.all(['health_monitor', 'process_retry_queue', 'sync_n8n'].map((job) => sys.ops.startJob(job)));

      // Workflow tasks keep running: a query to ops-controls is answered at once.
      const queried = performance.now();
      expect((await sys.ops.getControls()).killSwitch).toBe(false);
      expect(performance.now() - queried).toBeLessThan(2000);

      // The kill switch cannot be stored, so it is refused promptly, saying why, and nothing changed.
      const asked = performance.now();
      const refusal = await sys.ops.setKillSwitch(true, who).then(
        () => undefined,
        (err: unknown) => err,
      );
      const refusedInMs = performance.now() - asked;
      expect(refusal).toBeDefined();
      expect(messages(refusal)).toMatch(/Store unavailable: .*locked.*The controls were NOT changed/);
      // Well inside a workflow task's 5 s: the Update's task is never held up by the store.
      expect(refusedInMs).toBeLessThan(4000);
      expect((await sys.ops.getControls()).killSwitch).toBe(false);
      expect(performance.now() - lockedAt).toBeLessThan(LOCK_MS);

      await lock.released;
      tick();
      const lagDuringOutage = maxLagMs;
      // Old code: each statement slept up to 5 s inside better-sqlite3, the whole worker with it.
      expect(lagDuringOutage).toBeLessThan(200);

      // Once the store is back, every run has its one audit row; failed ones their dead letter and alert.
      const results = await Promise.all(runs.map((run) => sys.ops.jobResult(run.workflowId)));
      const byJob = Object.fromEntries(results.map((r) => [r.job, r]));
      expect(byJob.health_monitor).toMatchObject({ outcome: 'failed', category: 'database' });
      expect(byJob.process_retry_queue).toMatchObject({ outcome: 'failed', category: 'database' });
      expect(byJob.health_monitor!.error).toMatch(/Store unavailable: .*locked/);
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
      for (const failed of [byJob.health_monitor!, byJob.process_retry_queue!]) {
        const letter = letters.filter((l) => l.workflow_id === failed.workflowId);
        expect(letter, `dead letter of ${failed.job}`).toHaveLength(1);
        expect(letter[0]).toMatchObject({ job: failed.job, category: 'database', status: 'open' });
        const raised = incidents.filter((i) => i.related_workflow_id === failed.workflowId && i.type === 'dead_letter');
        expect(raised, `incident of ${failed.job}`).toHaveLength(1);
        // Through the router: a WARN is held for the daily digest, under the incident's key.
        expect(notifications.filter((n) => n.idempotency_key === `incident:${raised[0]!.id}`)).toHaveLength(1);
      }
      expect(letters.filter((l) => l.workflow_id === byJob.sync_n8n!.workflowId)).toEqual([]);

      // And the kill switch works again.
      expect((await sys.ops.setKillSwitch(true, who)).killSwitch).toBe(true);
      expect((await sys.ops.setKillSwitch(false, who)).killSwitch).toBe(false);
    } finally {
      clearInterval(probe);
      await lock?.release();
    }
  }, 120_000);
});
