/**
 * A sync page's incidents are stored in the page's transaction and alerted after its commit. A
 * worker that dies in between leaves incidents that no notification carries; the retried page
 * activity then finds the page committed (and the run done) and raises nothing again. Before
 * it reports that, it routes such incidents of its job, so the alert goes out late, never not
 * at all (found by the crash point sync.after_commit_before_complete, `npm run chaos`).
 */
import type { ActivityDeps } from './deps';
import { alertFor, type Notifier } from './notify';

/** Incidents older than this are left alone: a past outage's are not re-sent days later. */
const LOOKBACK_MS = 24 * 3600_000;
const BATCH = 50;

/** Routes the job's recent incidents that have no notification; returns how many. */
export async function routeUnalertedIncidents(deps: ActivityDeps, notifier: Notifier, job: string): Promise<number> {
  const since = new Date(deps.now().getTime() - LOOKBACK_MS).toISOString();
  const db = deps.store.db;
  const orphans = await db
    .selectFrom('incidents')
    .selectAll()
    .where('job', '=', job)
    .where('created_at', '>=', since)
    .where('archived', '=', 0)
    // One the operator already resolved needs no late alert.
    .where('status', '=', 'open')
    // Kept quiet on purpose (its type's hourly window), not lost.
    .where('alert_withheld', 'is', null)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('notifications').select('notifications.id').whereRef('notifications.incident_id', '=', 'incidents.id'))))
    .orderBy('id')
    .limit(BATCH)
    .execute();
  for (const row of orphans) {
    await alertFor(deps, notifier, row.id, {
      type: row.type,
      severity: row.severity,
      title: row.title,
      body: row.body,
      job: row.job ?? undefined,
      relatedWorkflowId: row.related_workflow_id ?? undefined,
      now: deps.now(),
    });
  }
  if (orphans.length) deps.logger.warn({ job, incidents: orphans.map((o) => o.id) }, 'routed incidents whose alert was lost with a worker');
  return orphans.length;
}
