export { openStore, type Store, type StoreOptions, type Dialect } from './db';
export { withBusyRetry, withStoreWaitLimit, retryWhileBusy, isSqliteBusy, DEFAULT_BUSY_RETRY, type BusyRetryPolicy } from './busy';
export { migrateToLatest, migrateUpTo, pendingMigrations, NO_DELETE_MESSAGE, AUDIT_APPEND_ONLY_MESSAGE, ALLOWLIST_NO_UPDATE_MESSAGE } from './migrate';
export {
  OPS_TABLES,
  DEAD_LETTER_STATUSES,
  INCIDENT_SEVERITIES,
  SOURCE_NAMES,
  MEMORY_AUTHORITIES,
  ADDRESS_KINDS,
  CHANNELS,
  NOTIFICATION_STATUSES,
  type AddressKind,
  type Channel,
  type NotificationRoute,
  type NotificationStatus,
  type SourceName,
  type MemoryAuthority,
  type Database,
  type DeadLetterStatus,
  type IncidentStatus,
  type RunOutcome,
  type Severity,
} from './schema';
export { writeTransaction, isPostgres } from './tx';
export { insertAudit, findRunAudit, listAudit, consecutiveFailures, type AuditRow, type NewAuditRow } from './audit';
export {
  raiseIncident,
  raiseIncidentIn,
  getIncident,
  findIncidentByKey,
  listIncidents,
  resolveIncident,
  hasOpenIncident,
  reportIncident,
  reportIncidentIn,
  acknowledgeIncident,
  resolveIncidentBy,
  resolveIncidentsOf,
  listOpenIncidents,
  openIncidentCounts,
  incidentState,
  worseSeverity,
  IncidentStateError,
  INCIDENT_LIMITS,
  INCIDENT_TYPE_ALERT_WINDOW_MS,
  type IncidentRow,
  type NewIncident,
  type IncidentReport,
  type IncidentRaised,
  type IncidentState,
  type IncidentDecision,
} from './incidents';
export {
  insertDeadLetter,
  getDeadLetter,
  findDeadLetterOfRun,
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
export {
  getSourceSync,
  listSourceSync,
  claimSourceSync,
  commitSourcePage,
  releaseSourceSync,
  type SourceSyncRow,
  type ClaimResult,
  type CommitResult,
} from './sources';
export { addToAllowlist, removeFromAllowlist, listAllowlist, isAllowlisted, type AllowlistRow } from './allowlist';
export { countApiCall, apiCallsSince } from './api-calls';
export {
  openNotification,
  getNotification,
  recordDecision,
  beginSend,
  finishSend,
  listHeld,
  markDelivered,
  listNotifications,
  countNotifications,
  listAttempts,
  bySeverityThenRecency,
  SETTLED_STATUSES,
  type NotificationRow,
  type NotificationAttemptRow,
  type NewNotification,
  type NotificationContent,
  type BeginResult,
} from './notifications';
export {
  upsertMemoryItems,
  supersedeMemoryItems,
  listMemoryItems,
  countMemoryItems,
  type MemoryItemRow,
  type MemoryWrite,
  type WriteCounts,
} from './memory';
export { runsSince, seriousIncidentsSince, openDeadLetterCount, urgentNotificationsSince, pendingApprovals } from './reports';
