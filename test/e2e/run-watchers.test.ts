/**
 * run_watchers end to end on the dev server, on SQLite and PostgreSQL: the four watchers run in
 * parallel as activities, raise incidents through the lifecycle, count a recurrence instead of a
 * second incident, resolve what cleared once the (injected) clock has moved past the window, and
 * a watcher that fails is named in the output while the others still report.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { WatcherOutcome } from '../../src/workflows/run-watchers';
import { insertAudit, listIncidents, listOpenIncidents } from '../../src/store';
import { countApiCall, countApiFailure } from '../../src/store/api-calls';
import { N8nFake } from '../fakes';
import { startSystem, systemWithControls } from '../helpers/system';

const MIN = 60_000;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`run_watchers on ${dialect}`, () => {
    // The activities' clock; the test moves it instead of waiting for windows to pass.
    let offsetMs = 0;
    const sys = systemWithControls({ dialect, now: () => new Date(Date.now() + offsetMs) });
    // The spec's four; the production monitors have their own tests (test/store/production-watchers.test.ts).
    const SPEC_FOUR = ['repeated_failures', 'rate_limits', 'cost_anomalies', 'performance'];
    const watchersOf = (output: unknown) => (output as { watchers: WatcherOutcome[] }).watchers.filter((w) => SPEC_FOUR.includes(w.watcher));
    /** Incidents of the spec's four in one run: opened, recurred, resolved. */
    const countsOf = (output: unknown) =>
      watchersOf(output).reduce(
        (sum, w) => (w.outcome === 'succeeded' ? { opened: sum.opened + w.opened, recurred: sum.recurred + w.recurred, resolved: sum.resolved + w.resolved } : sum),
        { opened: 0, recurred: 0, resolved: 0 },
      );

    it('raises, dedupes and resolves incidents through the four watchers', async () => {
      const db = sys().store.db;
      const now = Date.now();
      for (const m of [6, 4, 2]) {
        await insertAudit(db, { ts: new Date(now - m * MIN).toISOString(), action: 'sync_n8n', action_type: 'system', success: 0, outcome: 'failed', error: 'n8n answered HTTP 500' });
      }
      await countApiCall(db, 'hubspot', new Date(now - MIN));
      await countApiFailure(db, 'hubspot', new Date(now - MIN), { throttled: true });

      const first = await sys().ops.runJob('run_watchers');
      expect(first.outcome).toBe('succeeded');
      const ran = watchersOf(first.output);
      expect(ran.map((w) => [w.watcher, w.outcome])).toEqual([
        ['repeated_failures', 'succeeded'],
        ['rate_limits', 'succeeded'],
        ['cost_anomalies', 'succeeded'],
        ['performance', 'succeeded'],
      ]);
      expect(countsOf(first.output)).toEqual({ opened: 2, recurred: 0, resolved: 0 });
      expect((await listOpenIncidents(db, { type: 'repeated_failures' })).map((i) => [i.subject, i.severity])).toEqual([['job:sync_n8n', 'WARN']]);
      expect((await listOpenIncidents(db, { type: 'rate_limit' })).map((i) => [i.subject, i.severity])).toEqual([['api:hubspot', 'WARN']]);

      const second = await sys().ops.runJob('run_watchers');
      expect(countsOf(second.output)).toEqual({ opened: 0, recurred: 2, resolved: 0 });
      const [streak] = await listOpenIncidents(db, { type: 'repeated_failures' });
      expect(streak).toMatchObject({ occurrences: 2, status: 'open' });

      // 31 minutes on, the failures and the 429 are out of their windows.
      offsetMs = 31 * MIN;
      const third = await sys().ops.runJob('run_watchers');
      expect(countsOf(third.output)).toEqual({ opened: 0, recurred: 0, resolved: 2 });
      const resolved = (await listIncidents(db, { limit: 100 })).filter((i) => i.id === streak!.id);
      expect(resolved[0]).toMatchObject({ status: 'resolved', resolved_by: 'run_watchers' });
      expect(resolved[0]!.resolved_reason).toContain('under 3 failures in the last 30 min');
    });

    it('a watcher that fails is reported in the output and never stops the others; the run fails after they reported', async () => {
      const db = sys().store.db;
      offsetMs = 0;
      // The store refuses two watchers' query (a column gone), not the others'.
      await sql`alter table api_request_windows rename column throttled to throttled_gone`.execute(db);
      try {
        const result = await sys().ops.runJob('run_watchers');
        expect(result.outcome).toBe('failed');
        expect(result.error).toMatch(/^2 of \d+ watchers failed: repeated_failures \(\w+\): .*; rate_limits \(\w+\): /);
        const ran = watchersOf(result.output);
        expect(ran.map((w) => [w.watcher, w.outcome])).toEqual([
          ['repeated_failures', 'failed'],
          ['rate_limits', 'failed'],
          ['cost_anomalies', 'succeeded'],
          ['performance', 'succeeded'],
        ]);
        expect(ran.find((w) => w.watcher === 'performance')).toMatchObject({ summary: expect.stringContaining('store queries in the last 5 min') });
      } finally {
        await sql`alter table api_request_windows rename column throttled_gone to throttled`.execute(db);
      }
      const after = await sys().ops.runJob('run_watchers');
      expect(watchersOf(after.output).map((w) => w.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    });

    it('a 429 from a real sync is recorded as it happens and raises a rate-limit WARN for that API', async () => {
      const n8n = new N8nFake({ rateLimit: false });
      const url = await n8n.start();
      const other = await startSystem({ dialect, config: { sources: { n8n: { baseUrl: url, apiKey: n8n.apiKey } } } });
      try {
        await other.ops.ensureControls();
        n8n.fail({ status: 429, retryAfterSeconds: 1 });
        expect((await other.ops.runJob('sync_n8n')).outcome).toBe('succeeded');
        const result = await other.ops.runJob('run_watchers');
        const rate = watchersOf(result.output).find((w) => w.watcher === 'rate_limits');
        expect(rate).toMatchObject({ outcome: 'succeeded', opened: 1 });
        const [incident] = await listOpenIncidents(other.store.db, { type: 'rate_limit' });
        expect(incident).toMatchObject({ subject: 'api:n8n', severity: 'WARN', title: 'n8n answered HTTP 429 once in the last 5 min' });
      } finally {
        await other.close();
        await n8n.close();
      }
    });
  });
}
