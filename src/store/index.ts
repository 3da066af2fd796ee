export { openStore, type Store, type StoreOptions, type Dialect } from './db';
export { migrateToLatest } from './migrate';
export { OPS_TABLES, type Database, type DeadLetterStatus } from './schema';
export { insertAudit, listAudit, consecutiveFailures, type AuditRow } from './audit';
export { raiseIncident, listIncidents, resolveIncident, hasOpenIncident, type IncidentRow, type NewIncident } from './incidents';
export {
  insertDeadLetter,
  getDeadLetter,
  listDeadLetters,
  markReplayStarted,
  recordReplayOutcome,
  claimDueDeadLetters,
  type DeadLetterRow,
} from './dead-letters';
export { insertHealthCheck, latestHealthCheck } from './health';
export { saveControls, readControls, type MirroredControls } from './controls';
export { archiveOldData } from './archive';
