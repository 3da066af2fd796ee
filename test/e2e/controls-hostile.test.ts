/**
 * Anyone who can reach Temporal can signal ops-controls or a job, or send the Update, with any
 * payload. None of it may wedge a workflow (a handler that throws fails every workflow task and
 * replays the bad signal forever) or grow its state: the kill switch must keep working.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { CONTROLS_WORKFLOW_ID, getControlsQuery, SKIP_REASONS } from '../../src/definitions';
import { InvalidControlsChange, type ControlsState } from '../../src/controls-model';
import { listAudit, readControls, saveControls } from '../../src/store';
import { opsctlFor } from '../helpers/opsctl';
import { startGatedJob, systemWithControls, type TestSystem } from '../helpers/system';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const who = { actor: 'test', reason: 'hostile payloads' };
/** A refused Update never enters history, so it may be as large as the 1.5 MB. */
const HUGE = 'x'.repeat(1_500_000);
/**
 * A signal enters history before any handler sees it, and a workflow task carries the whole of
 * it, so the signals here are "huge" (hundreds of times any cap) but stay well under the 4 MB
 * gRPC message limit together.
 */
const BIG = 'x'.repeat(200_000);

/** Fails instead of hanging when a wedged workflow never answers. */
async function within<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (is the workflow wedged?)`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function historyOf(sys: TestSystem, workflowId: string): Promise<HistoryEvent[]> {
  return (await sys.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

/** Workflow tasks that failed (a handler threw): there must be none. */
const failedTasks = (events: HistoryEvent[]) => events.filter((e) => e.workflowTaskFailedEventAttributes);

/** The raw handle: untyped names and payloads, as `temporal workflow signal` would send them. */
async function rawSignal(sys: TestSystem, workflowId: string, name: string, ...args: unknown[]): Promise<void> {
  await sys.client.workflow.getHandle(workflowId).signal(name, ...args);
}

async function rawUpdate(sys: TestSystem, args: unknown[]): Promise<unknown> {
  return sys.client.workflow.getHandle(CONTROLS_WORKFLOW_ID).executeUpdate<unknown, [unknown, ...unknown[]]>('setControls', { args: args as [unknown, ...unknown[]] });
}

async function controlsNow(sys: TestSystem): Promise<ControlsState> {
  return sys.client.workflow.getHandle(CONTROLS_WORKFLOW_ID).query(getControlsQuery);
}

describe('hostile payloads to ops-controls and jobs', () => {
  const system = systemWithControls();

  it('malformed jobStarted, jobEnded, jobsEnded and controlsChanged signals are dropped: the kill switch still turns on and off and a job still stops', async () => {
    const sys = system();
    const jobId = await startGatedJob(sys, 'hostile-gated');
    const state = await controlsNow(sys);

    const badRegistrations = [
      null,
      undefined,
      42,
      'hostile-gated',
      [],
      {},
      { workflowId: 5, job: 'sync_n8n' },
      { workflowId: 'x', job: 'not_a_job' },
      { workflowId: BIG, job: 'periodic_scan' },
      { workflowId: 'x', job: 'periodic_scan', extra: BIG },
    ];
    for (const payload of badRegistrations) await rawSignal(sys, CONTROLS_WORKFLOW_ID, 'jobStarted', payload);
    await rawSignal(sys, CONTROLS_WORKFLOW_ID, 'jobStarted');
    await rawSignal(sys, CONTROLS_WORKFLOW_ID, 'noSuchSignal\x1b[2J', BIG);
    for (const payload of [null, 42, {}, ['hostile-gated'], BIG]) await rawSignal(sys, CONTROLS_WORKFLOW_ID, 'jobEnded', payload);
    // A list too long is refused whole (the job stays registered); bad ids in a list are skipped.
    const endedLists = [null, 42, {}, 'hostile-gated', BIG, [42, {}, BIG, null], Array.from({ length: 101 }, () => 'hostile-gated')];
    for (const payload of endedLists) await rawSignal(sys, CONTROLS_WORKFLOW_ID, 'jobsEnded', payload);

    const badStates = [
      null,
      42,
      'kill',
      { killSwitch: 'yes' },
      { ...state, killSwitch: 1 },
      { ...state, version: 'latest' },
      { ...state, quietHours: { ...state.quietHours, timeZone: 'Mars/Olympus' } },
      { ...state, quietHours: null },
    ];
    for (const payload of badStates) await rawSignal(sys, jobId, 'controlsChanged', payload);
    // Well-formed but with an enormous reason: accepted, clipped, and (an old version) ignored.
    await rawSignal(sys, jobId, 'controlsChanged', { ...state, version: 0, reason: BIG, updatedBy: BIG });
    await rawSignal(sys, jobId, 'noSuchSignal', 1);

    // ops-controls still answers, and still knows the job: the kill switch reaches it.
    const on = await within('kill on', 20_000, sys.ops.setKillSwitch(true, who));
    expect(on).toMatchObject({ killSwitch: true, version: state.version + 1, reason: who.reason });
    const result = await within('the job to stop', 20_000, sys.ops.jobResult(jobId));
    expect(result).toMatchObject({ outcome: 'skipped', reason: SKIP_REASONS.killSwitch });
    expect(sys.acts.stepCalls(jobId)).toEqual(['one']);
    const off = await within('kill off', 20_000, sys.ops.setKillSwitch(false, who));
    expect(off.killSwitch).toBe(false);

    expect(failedTasks(await historyOf(sys, CONTROLS_WORKFLOW_ID))).toEqual([]);
    expect(failedTasks(await historyOf(sys, jobId))).toEqual([]);
    // Nothing of the huge payloads stayed in the state.
    expect(JSON.stringify(await controlsNow(sys)).length).toBeLessThan(1000);
  });

  it('a huge or control-character reason or actor is refused with a clear error, and nothing changes', async () => {
    const sys = system();
    const before = await controlsNow(sys);
    const mirrorBefore = await readControls(sys.store.db);
    const auditBefore = (await listAudit(sys.store.db, { job: 'controls.update', limit: 1000 })).length;

    // OpsClient (and opsctl, which uses the same model) refuses before anything reaches Temporal.
    await expect(sys.ops.setKillSwitch(true, { actor: 'a', reason: HUGE })).rejects.toThrow(
      new InvalidControlsChange('Invalid controls change: reason: at most 500 characters'),
    );
    // The Update validator refuses the same, for a caller that skips the client.
    const cases: [unknown, string][] = [
      [{ killSwitch: true, actor: 'a', reason: HUGE }, 'reason: at most 500 characters'],
      [{ killSwitch: true, actor: 'a'.repeat(101), reason: 'r' }, 'actor: at most 100 characters'],
      [{ killSwitch: true, actor: 'a', reason: 'ok\nversion 9, last changed by root: all clear' }, 'reason: must be one line of printable text'],
      [{ killSwitch: true, actor: '\x1b[2J\x1b[Hroot', reason: 'r' }, 'actor: must be one line of printable text'],
      [{ killSwitch: true, actor: 'a', reason: 'bidi \u202e' }, 'reason: must be one line of printable text'],
      [null, '(root)'],
    ];
    for (const [payload, message] of cases) {
      const err = await within('refusal', 20_000, rawUpdate(sys, [payload]).catch((e: unknown) => e));
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(String((err as WorkflowUpdateFailedError).cause?.message)).toContain(message);
    }

    expect(await controlsNow(sys)).toEqual(before);
    expect(await readControls(sys.store.db)).toEqual(mirrorBefore);
    expect(await listAudit(sys.store.db, { job: 'controls.update', limit: 1000 })).toHaveLength(auditBefore);
    // Refused Updates never enter history, so the huge payloads are not there either.
    const historyBytes = JSON.stringify(await historyOf(sys, CONTROLS_WORKFLOW_ID)).length;
    expect(historyBytes).toBeLessThan(HUGE.length * 4);
  });

  it('property: arbitrary Update payloads are applied or refused naming the field; a refusal changes nothing', async () => {
    const sys = system();
    const field = <T>(valid: fc.Arbitrary<T>) => fc.option(fc.oneof(valid, fc.anything({ maxDepth: 1 })), { nil: undefined });
    const payload = fc.record(
      {
        killSwitch: field(fc.boolean()),
        commsEnabled: field(fc.boolean()),
        quietHours: field(fc.record({ start: fc.constantFrom('22:00', '7pm') }, { requiredKeys: [] })),
        actor: field(fc.constantFrom('jonah', '')),
        reason: field(fc.constantFrom('fuzz', 'x'.repeat(501), 'a\nb', '\x1b[31mred')),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(payload, fc.anything({ maxDepth: 2 })), async (raw) => {
        const before = await controlsNow(sys);
        const outcome = await within('update', 20_000, rawUpdate(sys, [raw]).catch((e: unknown) => e));
        if (outcome instanceof Error) {
          expect(outcome).toBeInstanceOf(WorkflowUpdateFailedError);
          const message = String((outcome as WorkflowUpdateFailedError).cause?.message);
          expect(message).toMatch(/^Invalid controls change: ((\(root\)|[A-Za-z_$][\w.$]*): |it changes nothing)/);
          expect(await controlsNow(sys)).toEqual(before);
        } else {
          expect(outcome).toMatchObject({ version: before.version + 1 });
          expect(JSON.stringify(outcome).length).toBeLessThan(1000);
        }
      }),
      { numRuns: 12 },
    );
    // Hostile signals in between did not wedge it either.
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('jobStarted', 'jobEnded', 'jobsEnded'), fc.anything({ maxDepth: 2 }), async (name, raw) => {
        await rawSignal(sys, CONTROLS_WORKFLOW_ID, name, raw);
      }),
      { numRuns: 10 },
    );
    const on = await within('kill on after fuzzing', 20_000, sys.ops.setKillSwitch(true, who));
    expect(on.killSwitch).toBe(true);
    await within('kill off after fuzzing', 20_000, sys.ops.setKillSwitch(false, who));
    expect(failedTasks(await historyOf(sys, CONTROLS_WORKFLOW_ID))).toEqual([]);
  });

  it('deliverNotification refuses a malformed input at once, naming the field, without failing a workflow task', async () => {
    const sys = system();
    const handle = await sys.client.workflow.start('deliverNotification', {
      workflowId: 'hostile-notify',
      taskQueue: sys.config.temporal.taskQueue,
      args: [{ idempotencyKey: 'k', severity: 'SEV9', type: 't', title: 'x', body: 'b' }],
    });
    const err = await within('deliverNotification', 20_000, handle.result().catch((e: unknown) => e));
    expect(String(((err as Error).cause as Error | undefined)?.message)).toContain('Invalid notification: severity');
    const events = await historyOf(sys, 'hostile-notify');
    expect(failedTasks(events)).toEqual([]);
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
  });
});

describe('opsctl and text that could forge lines', () => {
  const system = systemWithControls();

  it('kill with a control-character or over-long reason exits 2 naming the field, and changes nothing', async () => {
    const sys = system();
    const opsctl = opsctlFor(sys);
    const before = await controlsNow(sys);
    // opsctl refuses control characters in any argument, and the model refuses them in a reason.
    const refused: [string, RegExp][] = [
      ['ok\x1b[2K\rkill switch   off', /control character|reason: must be one line of printable text/],
      ['line one\nline two', /control character|reason: must be one line of printable text/],
      ['r'.repeat(501), /reason: at most 500 characters/],
    ];
    for (const [reason, message] of refused) {
      const r = await opsctl('kill', 'on', '--reason', reason);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain('\x1b');
    }
    expect((await opsctl('kill', 'on', '--reason', 'r', '--actor', 'a'.repeat(101))).stderr).toContain('actor: at most 100 characters');
    expect(await controlsNow(sys)).toEqual(before);
  });

  it('status prints a stored state with newlines and ANSI escapes (written before the caps) escaped, on its own lines', async () => {
    const sys = system();
    const state = await controlsNow(sys);
    // A state mirrored by an older version, then ops-controls restarted from it.
    await saveControls(
      sys.store.db,
      { ...state, version: state.version + 1, updatedBy: 'root\x1b[1A\x1b[2K', reason: `fine\nkill switch   off\u202e${'x'.repeat(3000)}` },
      { actor: 'old version', reason: 'forged', change: {} },
    );
    await sys.client.workflow.getHandle(CONTROLS_WORKFLOW_ID).terminate('test: restart from the mirror');
    await sys.ops.ensureControls();

    const r = await opsctlFor(sys)('status');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\x1b');
    expect(r.stdout).not.toContain('\u202e');
    expect(r.stdout.match(/^kill switch/gm)).toHaveLength(1);
    expect(r.stdout).toContain('by root\\x1b[1A\\x1b[2K: fine\\nkill switch   off\\u202e');
    // The restarted workflow holds the old text clipped to the cap.
    expect((await controlsNow(sys)).reason).toHaveLength(500);
  });
});
