/**
 * The operator's side of incidents, against a real dev server and store (SQLite and PostgreSQL):
 * opsctl incidents / show / ack / resolve and OpsClient's same methods. Each change is audited by
 * the store in the same transaction; a refused one (no such id, already acknowledged or resolved)
 * exits 2 and changes nothing; stored text is escaped on output; status counts by severity.
 */
import { describe, expect, it } from 'vitest';
import { IncidentChangeRefused, OpsClientError, type IncidentCounts } from '../../src/client';
import { acknowledgeIncident, getIncident, listAudit, reportIncident, type Severity } from '../../src/store';
import { opsctlFor } from '../helpers/opsctl';
import { systemPerSuite, type TestSystem } from '../helpers/system';

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;

let seq = 0;
/** A new open incident of `type` (its own subject), created `minutesAgo` before now. */
async function report(sys: TestSystem, type: string, severity: Severity, extra: { title?: string; body?: string; minutesAgo?: number } = {}): Promise<number> {
  seq += 1;
  const raised = await reportIncident(sys.store.db, {
    type,
    subject: `subject-${seq}`,
    severity,
    title: extra.title ?? `${type} ${severity} #${seq}`,
    body: extra.body ?? 'what happened',
    now: new Date(Date.now() - (extra.minutesAgo ?? 0) * 60_000),
  });
  expect(raised.created).toBe(true);
  return raised.id;
}

async function incidentAudit(sys: TestSystem, id: number) {
  const rows = [...(await listAudit(sys.store.db, { job: 'incident.acknowledge', limit: 1000 })), ...(await listAudit(sys.store.db, { job: 'incident.resolve', limit: 1000 }))];
  return rows
    .filter((r) => (JSON.parse(r.input_data ?? '{}') as { id?: number }).id === id)
    .sort((a, b) => a.id - b.id)
    .map(({ action, action_type, success, actor, reason }) => ({ action, action_type, success, actor, reason }));
}

const ids = (rows: { id: number }[]) => rows.map((r) => r.id);

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`opsctl incidents on ${dialect}`, () => {
    const system = systemPerSuite({ dialect });
    const opsctl = (...args: string[]) => opsctlFor(system())(...args);

    it('lists the ones not resolved, most urgent first; --all, --status, --type and --limit', async () => {
      const sys = system();
      const type = `urgency_${dialect}`;
      // Created oldest-first in the reverse of urgency, so "newest first" would be the wrong order.
      const sev1 = await report(sys, type, 'SEV1', { minutesAgo: 50 });
      const warnOld = await report(sys, type, 'WARN', { minutesAgo: 40 });
      const acked = await report(sys, type, 'WARN', { minutesAgo: 30 });
      const resolved = await report(sys, type, 'SEV0', { minutesAgo: 20 });
      const info = await report(sys, type, 'INFO', { minutesAgo: 10 });
      await acknowledgeIncident(sys.store.db, acked, { actor: 'ana', reason: 'on it', now: new Date() });
      await sys.ops.resolveIncident(resolved, { actor: 'ana', reason: 'fixed' });

      const open = await opsctl('incidents', '--type', type, '--json');
      expect(open).toMatchObject({ code: 0, stderr: '' });
      expect(open.json().map((r: { id: number; state: string }) => [r.id, r.state])).toEqual([
        [sev1, 'open'],
        [acked, 'acknowledged'],
        [warnOld, 'open'],
        [info, 'open'],
      ]);
      // The default list holds every type: ours in the same order among the others.
      const everyType = (await opsctl('incidents', '--json')).json() as { id: number; state: string }[];
      expect(ids(everyType).filter((id) => [sev1, warnOld, acked, resolved, info].includes(id))).toEqual([sev1, acked, warnOld, info]);
      expect(everyType.every((r) => r.state !== 'resolved')).toBe(true);

      expect(ids((await opsctl('incidents', 'list', '--all', '--type', type, '--json')).json())).toEqual([sev1, acked, warnOld, info, resolved]);
      expect(ids((await opsctl('incidents', '--status', 'acknowledged', '--type', type, '--json')).json())).toEqual([acked]);
      expect(ids((await opsctl('incidents', '--status', 'resolved', '--type', type, '--json')).json())).toEqual([resolved]);
      expect(ids((await opsctl('incidents', '--status', 'open', '--type', type, '--json')).json())).toEqual([sev1, warnOld, info]);
      // The limit keeps the most urgent, not the newest.
      expect(ids((await opsctl('incidents', '--type', type, '--limit', '2', '--json')).json())).toEqual([sev1, acked]);
      expect((await opsctl('incidents', '--type', 'no_such_type', '--json')).json()).toEqual([]);
      expect((await opsctl('incidents', '--type', 'no_such_type')).stdout).toBe('(none)\n');

      const table = await opsctl('incidents', '--type', type);
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^id\s+severity\s+state\s+type\s+subject\s+seen\s+title$/);
      expect(lines[2]).toMatch(new RegExp(`^${sev1}\\s+SEV1\\s+open\\s+${type}\\s+subject-\\d+\\s+1x, 50m ago\\s+${type} SEV1`));
      expect(lines[3]).toMatch(new RegExp(`^${acked}\\s+WARN\\s+acknowledged\\s`));
    });

    it('ack, then resolve: each once, audited with who and why; a second time exits 2 and changes nothing', async () => {
      const sys = system();
      const id = await report(sys, `lifecycle_${dialect}`, 'WARN');

      const ack = await opsctl('incidents', 'ack', String(id), '--reason', 'looking into it', '--actor', 'ana');
      expect(ack).toMatchObject({ code: 0, stderr: '', stdout: `incident #${id} acknowledged by ana: looking into it\n` });
      const acked = await getIncident(sys.store.db, id);
      expect(acked).toMatchObject({ status: 'open', acknowledged_by: 'ana', acknowledged_reason: 'looking into it' });

      const again = await opsctl('incidents', 'ack', String(id), '--reason', 'me too');
      expect(again).toMatchObject({ code: 2, stdout: '' });
      expect(again.stderr).toBe(`opsctl: incident #${id} was acknowledged already by ana\n`);
      expect(await getIncident(sys.store.db, id)).toEqual(acked);

      const resolved = await opsctl('incidents', 'resolve', String(id), '--reason', 'token rotated', '--json');
      expect(resolved.code).toBe(0);
      expect(resolved.json()).toMatchObject({ id, state: 'resolved', status: 'resolved', resolved_by: 'jonah', resolved_reason: 'token rotated', acknowledged_by: 'ana' });
      const done = await getIncident(sys.store.db, id);

      for (const verb of ['resolve', 'ack']) {
        const refused = await opsctl('incidents', verb, String(id), '--reason', 'again', '--json');
        expect(refused).toMatchObject({ code: 2, stdout: '' });
        expect(refused.stderr).toBe(`opsctl: incident #${id} is resolved already\n`);
      }
      expect(await getIncident(sys.store.db, id)).toEqual(done);
      expect(await incidentAudit(sys, id)).toEqual([
        { action: 'incident.acknowledge', action_type: 'operator', success: 1, actor: 'ana', reason: 'looking into it' },
        { action: 'incident.resolve', action_type: 'operator', success: 1, actor: 'jonah', reason: 'token rotated' },
      ]);

      // opsctl audit shows them by action.
      const audited = (await opsctl('audit', '--job', 'incident.resolve', '--json')).json() as { reason: string }[];
      expect(audited.map((r) => r.reason)).toContain('token rotated');
    });

    it('an id that does not exist exits 2 for show, ack and resolve, and writes nothing', async () => {
      const sys = system();
      const before = (await listAudit(sys.store.db, { limit: 1000 })).length;
      const missing = 987_654_321;
      for (const args of [['show', String(missing)], ['ack', String(missing), '--reason', 'r'], ['resolve', String(missing), '--reason', 'r', '--json']]) {
        const result = await opsctl('incidents', ...args);
        expect({ args, code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
          args,
          code: 2,
          stdout: '',
          stderr: `opsctl: no incident #${missing}\n`,
        });
      }
      expect((await listAudit(sys.store.db, { limit: 1000 })).length).toBe(before);
    });

    it('show prints one incident in full; stored text is escaped, and a body line cannot pass for ours', async () => {
      const sys = system();
      const id = await report(sys, `hostile_${dialect}`, 'SEV1', {
        title: 'bad \u001b[2J title\u202e',
        body: 'first line\nkill switch   off\n\u001b[31mred\u0007',
        minutesAgo: 5,
      });
      await sys.ops.acknowledgeIncident(id, { actor: 'ana', reason: 'seen' });

      const shown = await opsctl('incidents', 'show', String(id));
      expect(shown).toMatchObject({ code: 0, stderr: '' });
      expect(shown.stdout).not.toMatch(RAW_CONTROL);
      const lines = shown.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(`incident #${id}  SEV1  acknowledged`);
      expect(lines).toContain('title        bad \\x1b[2J title\\u202e');
      expect(lines.find((l) => l.startsWith('last seen'))).toMatch(/^last seen +\S+Z \(5m ago\), 1 occurrence\(s\)$/);
      expect(lines.find((l) => l.startsWith('acknowledged'))).toMatch(/^acknowledged +\S+Z \(\d+s ago\) by ana: seen$/);
      expect(lines.slice(lines.indexOf('body'))).toEqual(['body', '  | first line', '  | kill switch   off', '  | \\x1b[31mred\\x07']);
      expect(lines.some((l) => l.startsWith('resolved'))).toBe(false);

      const list = await opsctl('incidents', '--type', `hostile_${dialect}`);
      expect(list.stdout).not.toMatch(RAW_CONTROL);
      expect(list.stdout).toContain('bad \\x1b[2J title\\u202e');

      // --json keeps the stored text as it is (JSON escapes the controls).
      const json = await opsctl('incidents', 'show', String(id), '--json');
      expect(json.json()).toMatchObject({ id, state: 'acknowledged', title: 'bad \u001b[2J title\u202e', body: 'first line\nkill switch   off\n\u001b[31mred\u0007' });
    });

    it('status counts the incidents not resolved by severity, open and acknowledged, in text and --json', async () => {
      const sys = system();
      const counts = async (): Promise<IncidentCounts> => {
        const status = await opsctl('status', '--json');
        expect(status.code).toBe(0);
        return status.json().incidents as IncidentCounts;
      };
      const before = await counts();
      expect(Object.keys(before)).toEqual(['SEV0', 'SEV1', 'WARN', 'INFO']);
      const type = `status_${dialect}`;
      await report(sys, type, 'SEV0');
      const ackedWarn = await report(sys, type, 'WARN');
      await report(sys, type, 'WARN');
      const resolvedInfo = await report(sys, type, 'INFO');
      await sys.ops.acknowledgeIncident(ackedWarn, { actor: 'ana', reason: 'known' });
      await sys.ops.resolveIncident(resolvedInfo, { actor: 'ana', reason: 'gone' });

      const after = await counts();
      expect(after).toEqual({
        SEV0: { open: before.SEV0.open + 1, acknowledged: before.SEV0.acknowledged },
        SEV1: before.SEV1,
        WARN: { open: before.WARN.open + 1, acknowledged: before.WARN.acknowledged + 1 },
        INFO: before.INFO,
      });
      expect(await sys.ops.incidentCounts()).toEqual(after);

      const text = await opsctl('status');
      const total = (sev: Severity) => after[sev].open + after[sev].acknowledged;
      const acknowledged = (sev: Severity) => (after[sev].acknowledged ? ` (${after[sev].acknowledged} acknowledged)` : '');
      expect(text.stdout).toContain(
        `Incidents SEV0 ${total('SEV0')}${acknowledged('SEV0')}, SEV1 ${total('SEV1')}${acknowledged('SEV1')}, ` +
          `WARN ${total('WARN')}${acknowledged('WARN')}, INFO ${total('INFO')}${acknowledged('INFO')}; opsctl incidents lists them`,
      );
    });

    it('OpsClient: the same, typed; a bad request throws before anything changes', async () => {
      const sys = system();
      const id = await report(sys, `client_${dialect}`, 'INFO');
      const view = await sys.ops.getIncident(id);
      expect(view).toMatchObject({ id, state: 'open', severity: 'INFO', occurrences: 1 });

      await expect(sys.ops.acknowledgeIncident(id, { actor: 'bot', reason: ' ' })).rejects.toThrow(/reason: say why/);
      await expect(sys.ops.acknowledgeIncident(id, { actor: 'bot\u001b[2J', reason: 'r' })).rejects.toThrow(/actor/);
      await expect(sys.ops.resolveIncident(id, { actor: 'bot', reason: 'x'.repeat(501) })).rejects.toThrow(/at most 500/);
      await expect(sys.ops.resolveIncident(0, { actor: 'bot', reason: 'r' })).rejects.toThrow(OpsClientError);
      await expect(sys.ops.resolveIncident(1.5, { actor: 'bot', reason: 'r' })).rejects.toThrow(/incident id: a positive whole number/);
      await expect(sys.ops.getIncident(987_654_321)).rejects.toThrow(IncidentChangeRefused);
      await expect(sys.ops.listIncidents({ limit: 1001 })).rejects.toThrow(/limit: a whole number from 1 to 1000/);
      await expect(sys.ops.listIncidents({ type: "x' or 1=1 --" })).rejects.toThrow(/is not an incident type/);
      await expect(sys.ops.listIncidents({ states: [] })).rejects.toThrow(/at least one of open, acknowledged, resolved/);
      await expect(sys.ops.listIncidents({ states: ['closed' as never] })).rejects.toThrow(/"closed" is not one of/);
      expect(await sys.ops.getIncident(id)).toEqual(view);
      expect(await incidentAudit(sys, id)).toEqual([]);

      // Two operators acknowledge at once: one wins, the other is told, one audit row.
      const both = await Promise.allSettled([
        sys.ops.acknowledgeIncident(id, { actor: 'ana', reason: 'mine' }),
        sys.ops.acknowledgeIncident(id, { actor: 'bo', reason: 'mine' }),
      ]);
      expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = both.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(lost?.reason).toBeInstanceOf(IncidentChangeRefused);
      expect((lost?.reason as Error).message).toMatch(new RegExp(`^incident #${id} was acknowledged already by (ana|bo)$`));
      expect(await incidentAudit(sys, id)).toHaveLength(1);

      const done = await sys.ops.resolveIncident(id, { actor: 'ana', reason: 'cleared' });
      expect(done).toMatchObject({ id, state: 'resolved', resolved_by: 'ana', resolved_reason: 'cleared' });
      expect(ids(await sys.ops.listIncidents({ type: `client_${dialect}` }))).toEqual([]);
      expect(ids(await sys.ops.listIncidents({ type: `client_${dialect}`, states: ['resolved'] }))).toEqual([id]);
    });
  });
}
