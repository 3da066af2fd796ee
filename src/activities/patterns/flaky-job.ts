/**
 * flaky_job: one of our jobs failing, or retrying, often. From the job runs' audit rows
 * (action = the job, action_type 'system'; skipped runs neither fail nor succeed) and the dead
 * letters of its failed runs (attempts = how many times the run's work was tried).
 *
 * Confidence = share × weight, with
 *   share  = min(1, 2 × F / R)         F failed runs of R runs (failed + succeeded): half failing is full share;
 *   weight = min(1, (F + T / 2) / 4)   T = retries (Σ attempts − 1 over its dead letters): 4 failures is full weight, a retry counts half.
 * So 2 failures of 2 runs is 0.5 (too little to go on); with one retry on top, 0.625.
 */
import { isJobName, type JobName } from '../../jobs';
import { bySubject, evidence, num, round3, slowerCadence } from './common';
import type { Detector, Pattern } from './types';
import type { ProposalAction } from '../../proposal-actions';
import type { Config } from '../../config';

export const FLAKY_JOB = 'flaky_job';

/** Failure categories a slower cadence helps with: the other side needs air, not a fix. */
const EASED_BY_SLOWER = new Set(['transient', 'external_api']);

export function flakyJobConfidence(failed: number, runs: number, retries: number): number {
  if (runs <= 0 || failed <= 0) return 0;
  return round3(Math.min(1, (2 * failed) / runs) * Math.min(1, (failed + retries / 2) / 4));
}

interface JobCounts {
  failed: number;
  succeeded: number;
  failedIds: number[];
  retries: number;
  letterIds: number[];
  categories: Map<string, number>;
  lastError: string;
}

function actionFor(config: Config, job: JobName, counts: JobCounts): ProposalAction {
  const top = [...counts.categories].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  const slower = top !== undefined && EASED_BY_SLOWER.has(top) ? slowerCadence(config, job) : undefined;
  if (slower) return { kind: 'set_cadence', job, every: slower.slower };
  return { kind: 'record_only', note: `find why ${job} fails (${top ?? 'no dead letter'}): ${counts.lastError}`.slice(0, 500) };
}

export const flakyJob: Detector = {
  kind: FLAKY_JOB,
  describe:
    'share × weight: share = min(1, 2 × failed / runs) (half the runs failing is full share), weight = min(1, (failed + retries / 2) / 4) (retries = Σ attempts − 1 of its dead letters); runs = failed + succeeded in the lookback',
  async detect({ db, config, since, now }) {
    const from = since.toISOString();
    const to = now.toISOString();
    const runs = await db
      .selectFrom('agent_audit_log')
      .select(['id', 'action', 'outcome', 'error'])
      .where('action_type', '=', 'system')
      .where('outcome', 'in', ['failed', 'succeeded'])
      .where('ts', '>=', from)
      .where('ts', '<=', to)
      .where('archived', '=', 0)
      .orderBy('id')
      .execute();
    const jobs = new Map<JobName, JobCounts>();
    const countsOf = (job: JobName): JobCounts => {
      const existing = jobs.get(job);
      if (existing) return existing;
      const fresh: JobCounts = { failed: 0, succeeded: 0, failedIds: [], retries: 0, letterIds: [], categories: new Map(), lastError: '' };
      jobs.set(job, fresh);
      return fresh;
    };
    for (const row of runs) {
      if (!isJobName(row.action)) continue;
      const counts = countsOf(row.action);
      if (row.outcome === 'succeeded') counts.succeeded += 1;
      else {
        counts.failed += 1;
        counts.failedIds.push(num(row.id));
        counts.lastError = (row.error ?? 'unknown error').replace(/\s+/g, ' ').slice(0, 200);
      }
    }
    const letters = await db
      .selectFrom('dead_letters')
      .select(['id', 'job', 'attempts', 'category'])
      .where('created_at', '>=', from)
      .where('created_at', '<=', to)
      .where('archived', '=', 0)
      .orderBy('id')
      .execute();
    for (const letter of letters) {
      if (!isJobName(letter.job) || !jobs.has(letter.job)) continue;
      const counts = countsOf(letter.job);
      counts.retries += Math.max(0, num(letter.attempts) - 1);
      counts.letterIds.push(num(letter.id));
      counts.categories.set(letter.category, (counts.categories.get(letter.category) ?? 0) + 1);
    }
    const patterns: Pattern[] = [];
    for (const [job, counts] of jobs) {
      if (counts.failed === 0) continue;
      const total = counts.failed + counts.succeeded;
      const action = actionFor(config, job, counts);
      patterns.push({
        kind: FLAKY_JOB,
        subject: job,
        confidence: flakyJobConfidence(counts.failed, total, counts.retries),
        // Newest first: the latest failures say most about now.
        evidence: [
          ...evidence('agent_audit_log', [...counts.failedIds].reverse()),
          ...evidence('dead_letters', [...counts.letterIds].reverse()),
        ],
        summary:
          `${job} failed ${counts.failed} of ${total} runs in the lookback, with ${counts.retries} retr${counts.retries === 1 ? 'y' : 'ies'} ` +
          `in its dead letters; last error: ${counts.lastError}.`,
        title: action.kind === 'set_cadence' ? `Run ${job} less often (every ${action.every}): it keeps failing` : `${job} keeps failing`,
        action,
      });
    }
    return bySubject(patterns);
  },
};
