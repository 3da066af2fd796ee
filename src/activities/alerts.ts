/**
 * Incidents through their lifecycle, then to the operator: every producer (watchers, a job's
 * bookkeeping, health_monitor, the syncs) reports here, so "one open incident per (type, subject)"
 * and "one alert per type per hour" hold everywhere.
 */
import { reportIncident, type IncidentRaised, type IncidentReport } from '../store';
import type { ActivityDeps } from './deps';
import { alertFor, type Notifier } from './notify';

/**
 * Records the report on its incident and routes an alert when the lifecycle says so (a new
 * incident outside its type's hourly window). The router keys the message on the incident id, so
 * calling this again for the same report (a retried activity) sends nothing twice.
 */
export async function reportAlert(deps: ActivityDeps, notifier: Notifier, report: IncidentReport): Promise<IncidentRaised> {
  const raised = await reportIncident(deps.store.db, report);
  if (raised.alert) await alertFor(deps, notifier, raised.id, { ...report, severity: raised.severity });
  return raised;
}
