export { openStore, type Store, type StoreOptions, type Dialect } from './db';
export { migrateToLatest, NO_DELETE_MESSAGE } from './migrate';
export {
  OPS_TABLES,
  DEAD_LETTER_STATUSES,
  INCIDENT_SEVERITIES,
  type Database,
  type DeadLetterStatus,
  type IncidentStatus,
  type RunOutcome,
  type Severity,
} from './schema';
export { writeTransaction, isPostgres } from './tx';
export { insertAudit, listAudit, consecutiveFailures, type AuditRow, type NewAuditRow } from './audit';
export { raiseIncident, listIncidents, resolveIncident, hasOpenIncident, type IncidentRow, type NewIncident } from './incidents';
export {
  insertDeadLetter,
  getDeadLetter,
  listDeadLetters,
  markReplayStarted,
  recordReplayOutcome,
  claimDueDeadLetters,
  type ClaimOptions,
  type DeadLetterRow,
  type NewDeadLetter,
  type ReplayOutcome,
} from './dead-letters';
export { insertHealthCheck, latestHealthCheck, type HealthCheckRow } from './health';
export { saveControls, readControls, type ControlsSnapshot, type MirroredControls } from './controls';
export { archiveOldData, type Archived, type Retention } from './archive';
