/**
 * Applying an approved proposal end to end, on SQLite and PostgreSQL: startApplyProposal starts
 * applyProposal (one per proposal), which carries out the action against the real Temporal
 * schedules and store, marks the proposal applied, and changes nothing twice. The kill switch
 * blocks it (the proposal stays approved, with why), and a later start applies it.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApplyProposalActivities } from '../../src/activities/apply-proposal';
import { createLogger } from '../../src/logger';
import type { ProposalAction } from '../../src/proposal-actions';
import { startApplyProposal } from '../../src/proposal-apply-start';
import { reconcileSchedules } from '../../src/schedules/reconcile';
import { decideProposal, getProposal, listAudit, offerProposal } from '../../src/store';
import { startSystem, type TestSystem } from '../helpers/system';

const who = { actor: 'test', reason: 'apply-proposal test' };
const logger = createLogger('silent');
const LIMITS = { perHour: 100, coolDownMs: 0, expiresAfterMs: 3600_000 };

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`applyProposal on ${dialect}`, () => {
    let sys: TestSystem;
    let n = 0;
    beforeAll(async () => {
      sys = await startSystem({ dialect });
      await sys.ops.ensureControls();
      await reconcileSchedules(sys.client, sys.config, logger);
      // The schedules exist to be changed here, not to run jobs during the test.
      for (const job of ['process_retry_queue', 'health_monitor', 'run_watchers']) await sys.client.schedule.getHandle(job).pause('test');
    });
    afterAll(async () => {
      await sys?.close();
    });

    /** A pending proposal with this action, then approved: its id. */
    const approved = async (action: ProposalAction): Promise<number> => {
      const offer = await offerProposal(
        sys.store.db,
        { kind: 'test', subject: `s${++n}`, title: 't', rationale: 'r', evidence: [], confidence: 0.9, action, now: new Date() },
        LIMITS,
      );
      if (!offer.created) throw new Error(`not created: ${offer.why}`);
      await decideProposal(sys.store.db, offer.id, 'approve', { actor: 'operator', reason: 'looks right', now: new Date() });
      return offer.id;
    };
    const apply = async (id: number) => {
      const workflowId = await startApplyProposal(sys.client, sys.config.temporal.taskQueue, id);
      expect(workflowId).toBe(`apply-proposal-${id}`);
      return sys.client.workflow.getHandle(workflowId).result();
    };

    it('pause_schedule: the schedule really is paused, audited; the proposal is applied; a second start changes nothing', async () => {
      const id = await approved({ kind: 'pause_schedule', job: 'sync_hubspot' });
      const result = await apply(id);
      expect(result).toMatchObject({ proposalId: id, outcome: 'applied', result: expect.stringContaining('paused the sync_hubspot schedule') });
      const described = await sys.client.schedule.getHandle('sync_hubspot').describe();
      expect(described.state.paused).toBe(true);
      expect(described.state.note).toBe(`proposal #${id} (operator)`);
      expect(await getProposal(sys.store.db, id)).toMatchObject({ status: 'applied', apply_result: expect.stringContaining('paused') });
      const audit = (await listAudit(sys.store.db, { job: 'schedules.pause' })).filter((a) => a.workflow_id === `apply-proposal-${id}`);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: 'system', success: 1, reason: `proposal #${id} approved by operator: looks right` });
      // Again: the same workflow id, the completed run stands; nothing audited twice.
      await startApplyProposal(sys.client, sys.config.temporal.taskQueue, id);
      expect((await listAudit(sys.store.db, { job: 'schedules.pause' })).filter((a) => a.workflow_id === `apply-proposal-${id}`)).toHaveLength(1);
      await sys.ops.resumeSchedule('sync_hubspot', who);
    });

    it('set_cadence: the interval changes, and reconcile at boot leaves it', async () => {
      const id = await approved({ kind: 'set_cadence', job: 'sync_notion', every: '2h' });
      expect(await apply(id)).toMatchObject({ outcome: 'applied', result: 'sync_notion now runs every 2h' });
      const every = async () => (await sys.client.schedule.getHandle('sync_notion').describe()).spec.intervals?.[0]?.every;
      expect(await every()).toBe(2 * 3600_000);
      const report = await reconcileSchedules(sys.client, sys.config, logger);
      expect(report.unchanged).toContain('sync_notion');
      expect(await every()).toBe(2 * 3600_000);
    });

    it('mute_incident_type and record_only are applied; a retried action mutes once', async () => {
      const mute = await approved({ kind: 'mute_incident_type', type: 'watcher.rate_limit', hours: 6 });
      // The action twice (a retried activity), then the workflow: one mute.
      const acts = createApplyProposalActivities({ config: sys.config, store: sys.store, client: sys.client, logger, now: () => new Date() });
      const first = await acts.applyProposalAction({ proposalId: mute });
      expect(await acts.applyProposalAction({ proposalId: mute })).toBe(first);
      expect(await apply(mute)).toMatchObject({ outcome: 'applied', result: first });
      expect(first).toMatch(/^new watcher\.rate_limit alerts muted until /);
      const mutes = await sys.store.db.selectFrom('incident_mutes').selectAll().where('proposal_id', '=', mute).execute();
      expect(mutes).toHaveLength(1);
      expect(mutes[0]).toMatchObject({ type: 'watcher.rate_limit', created_by: 'system' });

      const note = await approved({ kind: 'record_only', note: 'ask the accountant' });
      expect(await apply(note)).toMatchObject({ outcome: 'applied', result: 'recorded for the operator: nothing automatic: ask the accountant' });
      expect(await getProposal(sys.store.db, note)).toMatchObject({ status: 'applied' });
    });

    it('the kill switch blocks applying (the schedule stays as it was, the proposal approved); once off, a new start applies it', async () => {
      const id = await approved({ kind: 'pause_schedule', job: 'sync_n8n' });
      await sys.ops.setKillSwitch(true, who);
      try {
        const failed = await apply(id).catch((err: unknown) => err);
        expect(failed).toBeInstanceOf(WorkflowFailedError);
        expect((failed as WorkflowFailedError).cause?.message).toMatch(/not applied \(kill_switch\)/);
        expect((await sys.client.schedule.getHandle('sync_n8n').describe()).state.paused).toBe(false);
        expect(await getProposal(sys.store.db, id)).toMatchObject({ status: 'approved' });
      } finally {
        await sys.ops.setKillSwitch(false, who);
      }
      expect(await apply(id)).toMatchObject({ outcome: 'applied' });
      expect((await sys.client.schedule.getHandle('sync_n8n').describe()).state.paused).toBe(true);
      await sys.ops.resumeSchedule('sync_n8n', who);
    });

    it('writes off blocks it too, and the reason is noted on the proposal', async () => {
      const id = await approved({ kind: 'record_only', note: 'n' });
      await sys.ops.changeControls({ writeEnabled: false, ...who });
      try {
        await expect(apply(id)).rejects.toThrow(WorkflowFailedError);
      } finally {
        await sys.ops.changeControls({ writeEnabled: true, ...who });
      }
      expect(await getProposal(sys.store.db, id)).toMatchObject({ status: 'approved', apply_result: 'not applied: Writes are disabled' });
    });

    it('a proposal that is not approved is not applied', async () => {
      const offer = await offerProposal(
        sys.store.db,
        { kind: 'test', subject: `s${++n}`, title: 't', rationale: 'r', evidence: [], confidence: 0.9, action: { kind: 'pause_schedule', job: 'cleanup_old_data' }, now: new Date() },
        LIMITS,
      );
      if (!offer.created) throw new Error('not created');
      const failed = await apply(offer.id).catch((err: unknown) => err);
      expect((failed as WorkflowFailedError).cause?.message).toMatch(/is pending, not approved/);
      expect((await sys.client.schedule.getHandle('cleanup_old_data').describe()).state.paused).toBe(false);
      expect(await getProposal(sys.store.db, offer.id)).toMatchObject({ status: 'pending' });
    });
  });
}
