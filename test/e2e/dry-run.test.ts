/**
 * Dry runs (seed 003's simulation mode) of every job, on SQLite and PostgreSQL: the job's reads
 * run for real against the fakes and the store, and afterwards every table holds exactly what it
 * held before but the run's one audit row (`<job>.dry_run`), no provider received a message,
 * Telegram confirmed no update, and Temporal holds no workflow or schedule change but the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { JOB_NAMES, type JobName } from '../../src/jobs';
import type { DryRunReport, JobResult } from '../../src/definitions';
import { insertAudit, insertDeadLetter, reportIncident, type Store } from '../../src/store';
import { HubSpotFake, N8nFake, NotionFake } from '../fakes';
import { OPERATOR_CHAT, OPERATOR_PHONE, startCommsFakes, type CommsFakes } from '../helpers/comms';
import { startSystem, type TestSystem } from '../helpers/system';

/** Every row of every table, in a stable order. */
async function snapshot(store: Store): Promise<Record<string, string[]>> {
  const tables =
    store.dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(store.db)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(store.db);
  const out: Record<string, string[]> = {};
  for (const { name } of tables.rows) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(store.db);
    out[name] = rows.rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

const withoutDryRunAudit = (snap: Record<string, string[]>): Record<string, string[]> => ({
  ...snap,
  agent_audit_log: (snap.agent_audit_log ?? []).filter((row) => !row.includes('"action_type":"dry_run"')),
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`dry runs on ${dialect}`, () => {
    const notion = new NotionFake({ pages: NotionFake.generatePages(30).map((p, i) => (i % 2 ? p : { ...p, tags: ['SOP'] })), rateLimit: false });
    const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(40), rateLimit: false });
    const n8n = new N8nFake({
      executions: Array.from({ length: 6 }, (_, i) => ({ id: i + 1, workflowId: 'wf-1', status: 'error' as const, startedAt: new Date(Date.now() - (10 - i) * 60_000).toISOString() })),
    });
    let comms: CommsFakes;
    let sys: TestSystem;
    const results = new Map<JobName, JobResult>();
    let before: Record<string, string[]>;
    let pendingUpdates = 0;

    beforeAll(async () => {
      comms = await startCommsFakes();
      const [notionUrl, hubspotUrl, n8nUrl] = await Promise.all([notion.start(), hubspot.start(), n8n.start()]);
      sys = await startSystem({
        dialect,
        config: {
          ...comms.config(),
          sources: {
            pageTimeoutMs: 10_000,
            notion: { token: notion.token, baseUrl: notionUrl },
            hubspot: { token: hubspot.token, baseUrl: hubspotUrl },
            n8n: { apiKey: n8n.apiKey, baseUrl: n8nUrl, minSyncIntervalMinutes: 0 },
          },
        },
      });
      const who = { actor: 'test', reason: 'operator' };
      await sys.ops.allowlistAdd({ kind: 'phone', address: OPERATOR_PHONE, ...who });
      await sys.ops.allowlistAdd({ kind: 'telegram', address: OPERATOR_CHAT, ...who });
      // Something for each job to act on: messages to read, a letter to replay, an incident to
      // report, an old row to archive.
      for (let i = 0; i < 3; i++) comms.telegram.sendFromUser({ chatId: Number(OPERATOR_CHAT), text: `remember item ${i}` });
      pendingUpdates = comms.telegram.pending();
      const now = new Date();
      await insertDeadLetter(sys.store.db, {
        created_at: new Date(now.getTime() - 3_600_000).toISOString(),
        job: 'sync_hubspot',
        workflow_id: 'sync_hubspot-old',
        input: JSON.stringify({ trigger: 'schedule' }),
        error: 'HubSpot answered HTTP 503',
        category: 'transient',
        attempts: 5,
      });
      await reportIncident(sys.store.db, {
        type: 'dead_letter',
        subject: 'sync_hubspot',
        job: 'sync_hubspot',
        severity: 'WARN',
        title: 'sync_hubspot failed and was dead-lettered',
        body: 'planted',
        now,
      });
      await insertAudit(sys.store.db, {
        ts: new Date(now.getTime() - 400 * 86_400_000).toISOString(),
        action: 'sync_notion',
        action_type: 'system',
        success: 1,
        outcome: 'succeeded',
        error: null,
        duration_ms: 10,
        input_data: '{}',
        output_data: null,
        workflow_id: 'ancient',
        actor: 'schedule',
        reason: null,
      });
      before = await snapshot(sys.store);
      for (const job of JOB_NAMES) results.set(job, await sys.ops.runJob(job, { dryRun: true }));
    }, 240_000);

    afterAll(async () => {
      await sys?.close();
      await comms?.close();
      await Promise.all([notion.close(), hubspot.close(), n8n.close()]);
    });

    const report = (job: JobName): DryRunReport => results.get(job)!.output!.dryRun as DryRunReport;

    it('every job ran its dry run to the end and reports what it would have done', () => {
      for (const job of JOB_NAMES) {
        const result = results.get(job)!;
        expect({ job, outcome: result.outcome, reason: result.reason }).toEqual({ job, outcome: 'succeeded', reason: undefined });
        expect(report(job)).toMatchObject({ writes: expect.any(Array), sends: expect.any(Array), temporal: expect.any(Array) });
      }
    });

    it('no store write happened: every table is as it was, but one dry-run audit row per job', async () => {
      const after = await snapshot(sys.store);
      expect(withoutDryRunAudit(after)).toEqual(before);
      const audit = await sys.store.db.selectFrom('agent_audit_log').selectAll().where('action_type', '=', 'dry_run').execute();
      expect(audit.map((r) => r.action).sort()).toEqual(JOB_NAMES.map((j) => `${j}.dry_run`).sort());
      expect(audit.every((r) => r.outcome === null && r.reason?.startsWith('dry run (succeeded'))).toBe(true);
    });

    it('no message went out and Telegram confirmed no update', () => {
      expect(comms.received()).toBe(0);
      expect(comms.telegram.pending()).toBe(pendingUpdates);
    });

    it('the reads were real, and the report names the writes, sends and Temporal changes', () => {
      const writes = (job: JobName) => report(job).writes.map((w) => `${w.table} ${w.op}`);
      expect(writes('sync_notion')).toContain('memory_items insert');
      expect(writes('sync_hubspot')).toContain('memory_items insert');
      expect(writes('sync_n8n')).toContain('incidents insert');
      expect(report('sync_notion').notes.join(' ')).toContain('first page only');
      expect(writes('periodic_scan')).toContain('memory_items insert');
      expect(writes('cleanup_old_data')).toContain('agent_audit_log update');
      expect(writes('health_monitor')).toContain('health_checks insert');
      expect(report('process_retry_queue').temporal).toEqual([expect.objectContaining({ action: 'start job sync_hubspot' })]);
      expect(report('daily_digest').sends.map((s) => s.channel)).not.toHaveLength(0);
      expect(report('morning_call').sends).toEqual([expect.objectContaining({ channel: 'voice', to: `+…${OPERATOR_PHONE.slice(-4)}` })]);
      expect(notion.requests.length + hubspot.requests.length + n8n.requests.length).toBeGreaterThan(0);
    });

    it('Temporal holds no workflow but the dry runs and ops-controls', async () => {
      const ids: string[] = [];
      for await (const wf of sys.client.workflow.list()) ids.push(wf.workflowId);
      const expected = new Set([...results.values()].map((r) => r.workflowId));
      expect(ids.filter((id) => !expected.has(id) && id !== 'ops-controls')).toEqual([]);
    });
  });
}
