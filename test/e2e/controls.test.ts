import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { CONTROLS_WORKFLOW_ID, getControlsQuery, setControlsUpdate } from '../../src/definitions';
import { InvalidControlsChange } from '../../src/controls-model';
import { listAudit, readControls } from '../../src/store';
import { restartControlsWithShortHistory, startSystem, startTestJob, type TestSystem } from '../helpers/system';

const CONFIG = { config: { controls: { quietHours: { start: '21:30' } } } };

/**
 * Every test leaves the controls as it found them, and asserts changes relative to the state it
 * found, so the tests pass alone and in any order on the file's one system.
 */
describe('ops-controls', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem(CONFIG);
  });
  afterAll(async () => {
    await sys.close();
  });

  it('starts from the configured defaults', async () => {
    // A system of its own: the shared one may have been changed by a test before this one.
    const fresh = await startSystem(CONFIG);
    try {
      const state = await fresh.ops.getControls();
      expect(state).toMatchObject({
        killSwitch: false,
        jobsEnabled: true,
        commsEnabled: true,
        writeEnabled: true,
        quietHours: { enabled: false, start: '21:30', end: '07:00', timeZone: 'America/Chicago' },
        version: 0,
      });
    } finally {
      await fresh.close();
    }
  });

  it('a job that finds ops-controls gone starts it again from the store mirror, registered: a kill switch in the mirror stops it', async () => {
    const fresh = await startSystem(CONFIG);
    try {
      const on = await fresh.ops.setKillSwitch(true, { actor: 'test', reason: 'before the restart' });
      await fresh.client.workflow.getHandle(CONTROLS_WORKFLOW_ID).terminate('test: gone');
      const result = await fresh.ops.jobResult(await startTestJob(fresh, 'noopJob', 'joins-gone-controls'));
      expect(result).toMatchObject({ outcome: 'skipped', reason: 'Kill switch is active' });
      // Started by that job's join, from the mirror (not the configured defaults).
      expect(await fresh.ops.getControls()).toMatchObject({ killSwitch: true, version: on.version, reason: 'before the restart' });
      const started = await fresh.client.workflow.getHandle(CONTROLS_WORKFLOW_ID).fetchHistory();
      const registered = (started.events ?? []).find((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'jobStarted');
      expect(Buffer.from(registered!.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!.data!).toString()).toContain('joins-gone-controls');
    } finally {
      await fresh.close();
    }
  });

  it('a change is applied, mirrored in the store and audited with who and why', async () => {
    const { version } = await sys.ops.getControls();
    const state = await sys.ops.changeControls({ commsEnabled: false, actor: 'jonah', reason: 'travelling' });
    await sys.ops.changeControls({ commsEnabled: true, actor: 'test', reason: 'restore' });
    expect(state).toMatchObject({ commsEnabled: false, version: version + 1, updatedBy: 'jonah', reason: 'travelling' });
    expect(await readControls(sys.store.db)).toMatchObject({ commsEnabled: true, version: version + 2 });
    const latest = await listAudit(sys.store.db, { job: 'controls.update', limit: 2 });
    const row = latest.find((r) => r.actor === 'jonah');
    expect(row).toMatchObject({ action_type: 'control', actor: 'jonah', reason: 'travelling' });
    expect(JSON.parse(row!.input_data as string)).toEqual({ commsEnabled: false });
  });

  it('a bad change is refused with a message naming the field, and nothing changes', async () => {
    await sys.ops.getControls(); // starts ops-controls if no test before this one did
    const handle = sys.client.workflow.getHandle(CONTROLS_WORKFLOW_ID);
    const before = await handle.query(getControlsQuery);
    const bad = [
      { killSwitch: 'yes', actor: 'x', reason: 'y' },
      { quietHours: { start: '25:00' }, actor: 'x', reason: 'y' },
      { quietHours: { timeZone: 'Mars/Olympus' }, actor: 'x', reason: 'y' },
      { jobsEnabled: false, actor: 'x' },
      { actor: 'x', reason: 'nothing' },
      { killSwitch: true, actor: 'x', reason: 'y', extra: 1 },
    ];
    const messages: string[] = [];
    for (const change of bad) {
      const err = await handle.executeUpdate(setControlsUpdate, { args: [change as never] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      messages.push(String((err as WorkflowUpdateFailedError).cause?.message));
    }
    expect(messages[0]).toContain('killSwitch');
    expect(messages[1]).toContain('quietHours.start');
    expect(messages[2]).toContain('quietHours.timeZone');
    expect(messages[3]).toContain('reason');
    expect(messages[4]).toContain('changes nothing');
    expect(messages[5]).toContain('extra');
    expect(await handle.query(getControlsQuery)).toEqual(before);
    // The client refuses the same input before it reaches Temporal.
    await expect(sys.ops.changeControls({ killSwitch: true, actor: '', reason: 'r' })).rejects.toBeInstanceOf(InvalidControlsChange);
  });

  it('survives a worker restart', async () => {
    await sys.ops.changeControls({ jobsEnabled: false, commsEnabled: false, actor: 'jonah', reason: 'restart test' });
    try {
      await sys.stopWorker();
      await sys.startWorker();
      const state = await sys.ops.getControls();
      expect(state).toMatchObject({ jobsEnabled: false, commsEnabled: false, updatedBy: 'jonah', reason: 'restart test' });
    } finally {
      await sys.ops.changeControls({ jobsEnabled: true, commsEnabled: true, actor: 'jonah', reason: 'back' });
    }
  });

  it('stays small: continues as new and keeps its state and its running jobs', async () => {
    // A fresh controls workflow that continues as new after a short history.
    await sys.ops.getControls(); // starts ops-controls if no test before this one did
    const { handle, firstRun, before } = await restartControlsWithShortHistory(sys, 40);
    // A job registered with the first run, blocked until a controls signal cancels it.
    const arrived = sys.acts.reachedGate();
    const blocked = await startTestJob(sys, 'gatedJob', 'gated-across-continue-as-new');
    await arrived;
    for (let i = 0; i < 8; i++) {
      await sys.ops.changeControls({ commsEnabled: i % 2 === 0, actor: 'test', reason: `flip ${i}` });
    }
    await expect.poll(async () => (await handle.describe()).runId, { timeout: 10_000 }).not.toBe(firstRun);
    const after = await sys.ops.getControls();
    expect(after.version).toBe(before.version + 8);
    expect(after.commsEnabled).toBe(false);

    // The new run still knows the job: the kill switch reaches it (its gate never opens).
    await sys.ops.setKillSwitch(true, { actor: 'test', reason: 'after continue-as-new' });
    try {
      const result = await Promise.race([
        sys.ops.jobResult(blocked),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the job never heard of the kill switch')), 15_000)),
      ]);
      expect(result).toMatchObject({ outcome: 'skipped', reason: 'Kill switch is active' });
    } finally {
      await sys.ops.changeControls({ killSwitch: false, commsEnabled: before.commsEnabled, actor: 'test', reason: 'done' });
    }
  });
});
