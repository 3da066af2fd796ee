/**
 * The operator's side of proposals and corrections, against a real dev server and store (SQLite
 * and PostgreSQL): opsctl proposals list / show / approve / reject, every decision audited with
 * who and why, refusals (no such id, not pending, expired) exit 2 and change nothing; approving
 * starts the apply workflow, whose effect shows (a schedule really paused) and which the kill
 * switch blocks. opsctl memory correct supersedes an item with reason `correction`, never deletes.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger';
import type { ProposalAction } from '../../src/proposal-actions';
import { getIncident, getProposal, listAudit, listMemoryItems, offerProposal, reportIncident, supersedeMemoryItems, type Store } from '../../src/store';
import { opsctlFor } from '../helpers/opsctl';
import { systemWithControls } from '../helpers/system';

const HOUR = 3600_000;
const LIMITS = { perHour: 1000, coolDownMs: 168 * HOUR, expiresAfterMs: 72 * HOUR };
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;

let seq = 0;
async function propose(store: Store, over: { action?: ProposalAction; hoursAgo?: number; title?: string; rationale?: string } = {}): Promise<number> {
  seq += 1;
  const offer = await offerProposal(
    store.db,
    {
      kind: 'flaky_job',
      subject: `subject-${seq}-${Math.random().toString(36).slice(2, 6)}`,
      title: over.title ?? `flaky job #${seq}`,
      rationale: over.rationale ?? 'failed 5 of its last 6 runs',
      evidence: [{ table: 'agent_audit_log', id: seq }],
      confidence: 0.85,
      action: over.action ?? { kind: 'record_only', note: 'look at it' },
      now: new Date(Date.now() - (over.hoursAgo ?? 0) * HOUR),
    },
    LIMITS,
  );
  if (!offer.created) throw new Error(`not created: ${offer.why}`);
  return offer.id;
}

async function proposalAudit(store: Store, id: number) {
  const rows = (await listAudit(store.db, { limit: 10_000 })).filter(
    (r) => r.action.startsWith('proposal.') && (JSON.parse(r.input_data ?? '{}') as { id?: number }).id === id,
  );
  return rows.sort((a, b) => a.id - b.id).map(({ action, action_type, success, actor, reason }) => ({ action, action_type, success, actor, reason }));
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`opsctl proposals on ${dialect}`, () => {
    const system = systemWithControls({ dialect });
    const opsctl = (...args: string[]) => opsctlFor(system())(...args);

    it('list shows the pending ones by default, newest first; --status and --limit; show prints one in full, escaped', async () => {
      const sys = system();
      const older = await propose(sys.store, { hoursAgo: 2 });
      const hostile = await propose(sys.store, { title: 'bad \u001b[2J title', rationale: 'line one\nkill switch   off\n\u001b[31mred' });
      const gone = await propose(sys.store, { hoursAgo: 80 });
      const rejected = await propose(sys.store);
      await sys.ops.rejectProposal(rejected, { actor: 'ana', reason: 'not now' });

      const pending = (await opsctl('proposals', '--json')).json() as { id: number; state: string; does: string }[];
      const ids = pending.map((p) => p.id);
      expect(ids).toContain(older);
      expect(ids).toContain(hostile);
      expect(ids).not.toContain(gone);
      expect(ids).not.toContain(rejected);
      expect(ids.indexOf(hostile)).toBeLessThan(ids.indexOf(older));
      expect(pending.every((p) => p.state === 'pending')).toBe(true);
      expect(pending.find((p) => p.id === older)).toMatchObject({ does: 'nothing automatic: look at it', action: { kind: 'record_only', note: 'look at it' }, evidence: [{ table: 'agent_audit_log' }] });
      // Past its time it is expired, whether or not the sweep has marked it yet.
      expect(((await opsctl('proposals', 'list', '--status', 'expired', '--json')).json() as { id: number }[]).map((p) => p.id)).toContain(gone);
      expect(((await opsctl('proposals', '--status', 'rejected', '--json')).json() as { id: number }[]).map((p) => p.id)).toContain(rejected);
      expect((await opsctl('proposals', '--limit', '1', '--json')).json()).toHaveLength(1);

      const table = await opsctl('proposals');
      expect(table).toMatchObject({ code: 0, stderr: '' });
      expect(table.stdout).not.toMatch(RAW_CONTROL);
      expect(table.stdout.split('\n')[0]).toMatch(/^id\s+state\s+kind\s+subject\s+confidence\s+made\s+does\s+title$/);

      const shown = await opsctl('proposals', 'show', String(hostile));
      expect(shown).toMatchObject({ code: 0, stderr: '' });
      expect(shown.stdout).not.toMatch(RAW_CONTROL);
      const lines = shown.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(`proposal #${hostile}  pending`);
      expect(lines).toContain('title       bad \\x1b[2J title');
      expect(lines).toContain('confidence  0.85');
      expect(lines.slice(lines.indexOf('rationale'))).toEqual(['rationale', '  | line one', '  | kill switch   off', '  | \\x1b[31mred']);
      expect((await opsctl('proposals', 'show', String(hostile), '--json')).json()).toMatchObject({ id: hostile, title: 'bad \u001b[2J title', state: 'pending' });
    });

    it('reject is audited with who and why; a second decision, an expired one and a missing id exit 2 and change nothing', async () => {
      const sys = system();
      const id = await propose(sys.store);
      const rejected = await opsctl('proposals', 'reject', String(id), '--reason', 'we need this job', '--actor', 'ana');
      expect(rejected).toMatchObject({ code: 0, stderr: '', stdout: `proposal #${id} rejected by ana: we need this job\n` });
      const after = await getProposal(sys.store.db, id);
      expect(after).toMatchObject({ status: 'rejected', decided_by: 'ana', decision_reason: 'we need this job' });

      for (const verb of ['approve', 'reject']) {
        const again = await opsctl('proposals', verb, String(id), '--reason', 'again', '--json');
        expect(again).toMatchObject({ code: 2, stdout: '', stderr: `opsctl: proposal #${id} is rejected, not pending\n` });
      }
      expect(await getProposal(sys.store.db, id)).toEqual(after);

      const late = await propose(sys.store, { hoursAgo: 73 });
      const lateBefore = await getProposal(sys.store.db, late);
      const expired = await opsctl('proposals', 'approve', String(late), '--reason', 'too late');
      expect(expired).toMatchObject({ code: 2, stdout: '' });
      expect(expired.stderr).toBe(`opsctl: proposal #${late} expired at ${lateBefore!.expires_at}\n`);
      expect(await getProposal(sys.store.db, late)).toEqual(lateBefore);
      await expect(sys.client.workflow.getHandle(`apply-proposal-${late}`).describe()).rejects.toThrow();

      const auditBefore = (await listAudit(sys.store.db, { limit: 10_000 })).length;
      for (const args of [['show', '987654321'], ['approve', '987654321', '--reason', 'r'], ['reject', '987654321', '--reason', 'r', '--json'], ['apply', '987654321']]) {
        const result = await opsctl('proposals', ...args);
        expect({ args, code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ args, code: 2, stdout: '', stderr: 'opsctl: no proposal #987654321\n' });
      }
      expect((await listAudit(sys.store.db, { limit: 10_000 })).length).toBe(auditBefore);
      expect(await proposalAudit(sys.store, id)).toEqual([{ action: 'proposal.reject', action_type: 'operator', success: 1, actor: 'ana', reason: 'we need this job' }]);
      // A pending one cannot be "applied": only an approved one is.
      const pending = await propose(sys.store);
      expect(await opsctl('proposals', 'apply', String(pending))).toMatchObject({ code: 2, stderr: `opsctl: proposal #${pending} is pending, not approved: only an approved one is applied\n` });
    });

    it('approve is audited and starts the apply workflow, whose id it prints; OpsClient returns it too', async () => {
      const sys = system();
      const id = await propose(sys.store);
      const approved = await opsctl('proposals', 'approve', String(id), '--reason', 'worth it', '--actor', 'ana', '--json');
      expect(approved).toMatchObject({ code: 0, stderr: '' });
      expect(approved.json()).toMatchObject({ workflowId: `apply-proposal-${id}`, proposal: { id, status: 'approved', decided_by: 'ana', decision_reason: 'worth it' } });
      const described = await sys.client.workflow.getHandle(`apply-proposal-${id}`).describe();
      expect(described.type).toBe('applyProposal');
      expect(await proposalAudit(sys.store, id)).toContainEqual({ action: 'proposal.approve', action_type: 'operator', success: 1, actor: 'ana', reason: 'worth it' });

      const other = await propose(sys.store);
      const text = await opsctl('proposals', 'approve', String(other), '--reason', 'sure');
      expect(text).toMatchObject({ code: 0, stderr: '' });
      expect(text.stdout).toBe(`proposal #${other} approved by jonah: sure\napplying (nothing automatic: look at it) in workflow apply-proposal-${other}\n`);

      const third = await propose(sys.store);
      const byClient = await sys.ops.approveProposal(third, { actor: 'bo', reason: 'via the client' });
      expect(byClient).toMatchObject({ workflowId: `apply-proposal-${third}`, proposal: { id: third, status: 'approved', decided_by: 'bo' } });
      await expect(sys.ops.approveProposal(third, { actor: 'bo', reason: 'twice' })).rejects.toThrow(`proposal #${third} is approved, not pending`);
      await expect(sys.ops.rejectProposal(third, { actor: '', reason: 'x' })).rejects.toThrow(/actor/);
    });

    it('an approved pause_schedule is applied: the schedule really is paused; with the kill switch on it is not, until it is off again', async () => {
      const sys = system();
      await sys.ops.reconcileSchedules(createLogger('silent'));
      const job = 'sync_n8n';
      const schedule = sys.client.schedule.getHandle(job);
      expect((await schedule.describe()).state.paused).toBe(false);

      await sys.ops.setKillSwitch(true, { actor: 'ana', reason: 'maintenance' });
      const blocked = await propose(sys.store, { action: { kind: 'pause_schedule', job } });
      const refused = await opsctl('proposals', 'approve', String(blocked), '--reason', 'it keeps failing', '--wait', '--json');
      expect(refused.code).toBe(1);
      expect(refused.json()).toMatchObject({ workflowId: `apply-proposal-${blocked}`, outcome: 'failed', proposal: { id: blocked, status: 'approved' } });
      expect(refused.json().error).toMatch(/kill switch/i);
      expect((await schedule.describe()).state.paused).toBe(false);
      expect(await getProposal(sys.store.db, blocked)).toMatchObject({ status: 'approved', applied_at: null });

      await sys.ops.setKillSwitch(false, { actor: 'ana', reason: 'done' });
      const applied = await opsctl('proposals', 'apply', String(blocked), '--wait');
      expect(applied).toMatchObject({ code: 0, stderr: '' });
      expect(applied.stdout).toMatch(new RegExp(`^proposal #${blocked} applied: `));
      expect((await schedule.describe()).state.paused).toBe(true);
      expect(await getProposal(sys.store.db, blocked)).toMatchObject({ status: 'applied' });
      expect(((await opsctl('proposals', '--status', 'applied', '--json')).json() as { id: number }[]).map((p) => p.id)).toContain(blocked);
      await schedule.unpause('test over');
    });

    it('an approved mute_incident_type mutes new WARN incidents of the type; an approved record_only is recorded as applied', async () => {
      const sys = system();
      const type = `noisy_${dialect}`;
      const mute = await propose(sys.store, { action: { kind: 'mute_incident_type', type, hours: 4 } });
      const muted = await opsctl('proposals', 'approve', String(mute), '--reason', 'too noisy', '--wait');
      // Progress for a person goes to stderr; stdout says what was done.
      expect(muted).toMatchObject({ code: 0, stderr: `proposal #${mute} approved by jonah; waiting for apply-proposal-${mute}\n` });
      expect(muted.stdout).toMatch(new RegExp(`^proposal #${mute} applied: `));
      const warn = await reportIncident(sys.store.db, { type, subject: 's', severity: 'WARN', title: 't', body: 'b', now: new Date() });
      expect(warn).toMatchObject({ created: true, alert: false });
      expect((await getIncident(sys.store.db, warn.id))?.alert_withheld).toMatch(new RegExp(`^${type} muted until `));

      const note = await propose(sys.store, { action: { kind: 'record_only', note: 'talk to the vendor' } });
      const recorded = await opsctl('proposals', 'approve', String(note), '--reason', 'ok', '--wait', '--json');
      expect(recorded.code).toBe(0);
      expect(recorded.json()).toMatchObject({ outcome: 'applied', proposal: { id: note, status: 'applied' } });
    });
  });

  describe(`opsctl memory on ${dialect}`, () => {
    const system = systemWithControls({ dialect });
    const opsctl = (...args: string[]) => opsctlFor(system())(...args);

    it('correct supersedes the current item with reason correction (audited, never a delete); show prints its history', async () => {
      const sys = system();
      const key = `notion:page-${dialect}`;
      const write = (value: unknown) => ({ key, value, authority: 'canonical' as const, sourceType: 'notion', sourceId: `page-${dialect}` });
      await supersedeMemoryItems(sys.store.db, [write({ title: 'Ops', owner: 'Jonh' })], 'edited', new Date(Date.now() - HOUR));
      const before = await listMemoryItems(sys.store.db, { key, includeSuperseded: true });
      expect(before).toHaveLength(1);
      const correctionsInDigest = async () => ((await opsctl('digest', 'preview', '--json')).json() as { metrics: { corrections_applied: number } }).metrics.corrections_applied;
      const digestBefore = await correctionsInDigest();

      const corrected = await opsctl('memory', 'correct', key, '--value-json', '{"title":"Ops","owner":"Jonah"}', '--reason', 'typo in the owner', '--actor', 'ana');
      expect(corrected).toMatchObject({ code: 0, stderr: '' });
      expect(corrected.stdout).toBe(`memory ${key} corrected by ana: v1 superseded by v2 (typo in the owner)\n`);
      const rows = await listMemoryItems(sys.store.db, { key, includeSuperseded: true });
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({ id: before[0]!.id, superseded_reason: 'correction', superseded_by: rows[1]!.id, value: before[0]!.value });
      expect(rows[1]).toMatchObject({ superseded_at: null, version: 2, source_type: 'notion', authority: 'canonical' });
      expect(JSON.parse(rows[1]!.value)).toEqual({ title: 'Ops', owner: 'Jonah' });
      const [audit] = await listAudit(sys.store.db, { job: 'memory.correct', limit: 1 });
      expect(audit).toMatchObject({ actor: 'ana', reason: 'typo in the owner', action_type: 'operator', success: 1 });
      expect(JSON.parse(audit!.input_data!)).toEqual({ key, from: rows[0]!.id, to: rows[1]!.id });

      // The same value again changes nothing; a text value is stored as text.
      const same = await opsctl('memory', 'correct', key, '--value-json', '{"title":"Ops","owner":"Jonah"}', '--reason', 'again', '--json');
      expect(same.json()).toMatchObject({ changed: false, current: { id: rows[1]!.id } });
      const text = await sys.ops.correctMemory(key, 'plain words', { actor: 'bo', reason: 'simpler' });
      expect(text).toMatchObject({ changed: true, current: { version: 3, value: '"plain words"' } });
      // The digest's corrections_applied counts both (the unchanged one is no correction).
      expect(await correctionsInDigest()).toBe(digestBefore + 2);

      const shown = await opsctl('memory', 'show', key, '--json');
      expect(shown.json()).toMatchObject({ key, current: { version: 3 }, history: [{ version: 1 }, { version: 2, superseded_reason: 'correction' }, { version: 3 }] });
      const human = await opsctl('memory', 'show', key);
      expect(human.stdout.split('\n')[0]).toBe(`memory ${key}`);
      expect(human.stdout).toContain('current     v3 (canonical, notion) "plain words"');

      const auditBefore = (await listAudit(sys.store.db, { limit: 10_000 })).length;
      for (const args of [['correct', 'notion:nope', '--value', 'x', '--reason', 'r'], ['show', 'notion:nope']]) {
        const result = await opsctl('memory', ...args);
        expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: '' });
        expect(result.stderr).toMatch(/^opsctl: no (current )?memory item with key "notion:nope"\n$/);
      }
      expect((await listAudit(sys.store.db, { limit: 10_000 })).length).toBe(auditBefore);
    });
  });
}
