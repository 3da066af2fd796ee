/**
 * Production monitoring: "Monitor job failure rates (alert if >10%)". A job's failed share of its
 * runs in the window, once it has run often enough for a share to mean something (2 failures of
 * 3 runs is bad luck, not a rate). Skipped runs are left out of both counts: a run skipped by
 * quiet hours or the kill switch neither failed nor succeeded (staleness watches those).
 */
import type { Watcher, WatcherFinding } from './types';

export const FAILURE_RATE_INCIDENT = 'failure_rate';

export const failureRateWatcher: Watcher = {
  name: 'failure_rate',
  incidentType: FAILURE_RATE_INCIDENT,
  async check({ db, config, now }) {
    const { windowHours, percent, minRuns } = config.watchers.failureRate;
    const since = new Date(now.getTime() - windowHours * 3_600_000).toISOString();
    const rows = await db
      .selectFrom('agent_audit_log')
      .select(['action', 'outcome', (eb) => eb.fn.countAll<number>().as('n')])
      .where('ts', '>=', since)
      .where('ts', '<=', now.toISOString())
      .where('action_type', '=', 'system')
      .where('outcome', 'is not', null)
      .groupBy(['action', 'outcome'])
      .execute();

    const jobs = new Map<string, { succeeded: number; failed: number; skipped: number }>();
    for (const row of rows) {
      const counts = jobs.get(row.action) ?? { succeeded: 0, failed: 0, skipped: 0 };
      if (row.outcome === 'succeeded' || row.outcome === 'failed' || row.outcome === 'skipped') counts[row.outcome] += Number(row.n);
      jobs.set(row.action, counts);
    }

    const findings: WatcherFinding[] = [];
    let tooFew = 0;
    for (const [job, { succeeded, failed, skipped }] of jobs) {
      const runs = succeeded + failed;
      if (runs < minRuns) {
        tooFew += 1;
        continue;
      }
      const share = (failed / runs) * 100;
      if (share <= percent) continue;
      findings.push({
        subject: job,
        job,
        severity: 'WARN',
        title: `${job} failed ${share.toFixed(1)}% of its runs in ${windowHours} h (threshold ${percent}%)`,
        body:
          `${failed} of ${runs} run(s) of ${job} failed in the last ${windowHours} h. ` +
          `Skipped runs are not counted (${skipped} skipped).`,
      });
    }
    return {
      findings,
      summary:
        `${findings.length} of ${jobs.size} job(s) over ${percent}% failed in ${windowHours} h; ` +
        `${tooFew} with fewer than ${minRuns} runs not judged; skipped runs not counted`,
      cleared: `failed share back at or under ${percent}% in ${windowHours} h (or fewer than ${minRuns} runs)`,
    };
  },
};
