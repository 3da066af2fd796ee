import type { Generated } from 'kysely';

/** Timestamps are ISO-8601 UTC strings, JSON columns are JSON text, booleans 0/1, on both dialects. */
export interface Database {
  agent_controls: AgentControlsTable;
  agent_audit_log: AuditTable;
  incidents: IncidentsTable;
  dead_letters: DeadLettersTable;
  health_checks: HealthChecksTable;
  data_source_sync: DataSourceSyncTable;
  memory_items: MemoryItemsTable;
  comm_allowlist: CommAllowlistTable;
  notifications: NotificationsTable;
  notification_attempts: NotificationAttemptsTable;
  api_calls: ApiCallsTable;
  api_request_windows: ApiRequestWindowsTable;
  proposals: ProposalsTable;
  incident_mutes: IncidentMutesTable;
}

export const PROPOSAL_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'applied'] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

/** What periodic_scan proposes to the operator; decided with who and why, never deleted. */
export interface ProposalsTable {
  id: Generated<number>;
  created_at: string;
  kind: string;
  subject: string;
  title: string;
  rationale: string;
  /** JSON: [{ table, id }] of the rows the pattern rests on. */
  evidence: string;
  confidence: number;
  /** JSON: the ProposalAction (src/proposal-actions.ts). */
  action: string;
  status: Generated<ProposalStatus>;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  decision_reason: string | null;
  applied_at: string | null;
  /** What applying it did, or why it could not. */
  apply_result: string | null;
  archived: Generated<number>;
  archived_at: string | null;
}

/** An incident type whose new incidents are recorded but not alerted until `muted_until`. */
export interface IncidentMutesTable {
  id: Generated<number>;
  created_at: string;
  type: string;
  muted_until: string;
  created_by: string;
  reason: string;
  proposal_id: number | null;
}

export interface AgentControlsTable {
  id: number;
  state: string;
  version: number;
  updated_at: string;
  updated_by: string;
  reason: string;
}

export interface AuditTable {
  id: Generated<number>;
  ts: string;
  action: string;
  action_type: string;
  success: number;
  outcome: RunOutcome | null;
  error: string | null;
  duration_ms: number | null;
  input_data: string | null;
  output_data: string | null;
  workflow_id: string | null;
  actor: string | null;
  reason: string | null;
  archived: Generated<number>;
  archived_at: string | null;
  /** The Temporal run a job run's row belongs to (a workflow id can be used again). From 004. */
  run_id: string | null;
}

export interface IncidentsTable {
  id: Generated<number>;
  created_at: string;
  type: string;
  severity: Severity;
  title: string;
  body: string;
  status: Generated<IncidentStatus>;
  dedupe_key: string | null;
  job: string | null;
  related_workflow_id: string | null;
  resolved_at: string | null;
  archived: Generated<number>;
  archived_at: string | null;
  /** What the incident is about (a job, a source, an endpoint); one open incident per (type, subject). */
  subject: string | null;
  occurrences: Generated<number>;
  last_seen_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  acknowledged_reason: string | null;
  resolved_by: string | null;
  resolved_reason: string | null;
  /** Why this new incident was not alerted (its type's hourly window); null when it was. */
  alert_withheld: string | null;
}

export const DEAD_LETTER_STATUSES = ['open', 'replaying', 'resolved', 'exhausted'] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

export const INCIDENT_SEVERITIES = ['SEV0', 'SEV1', 'WARN', 'INFO'] as const;
export type Severity = (typeof INCIDENT_SEVERITIES)[number];
export type IncidentStatus = 'open' | 'resolved';
export type RunOutcome = 'succeeded' | 'skipped' | 'failed';

export interface DeadLettersTable {
  id: Generated<number>;
  created_at: string;
  job: string;
  workflow_type: string;
  workflow_id: string;
  input: string;
  error: string;
  category: string;
  attempts: number;
  status: Generated<DeadLetterStatus>;
  replay_attempts: Generated<number>;
  next_attempt_at: string | null;
  last_replay_workflow_id: string | null;
  last_replayed_at: string | null;
  last_replay_error: string | null;
  resolved_at: string | null;
  archived: Generated<number>;
  archived_at: string | null;
}

export interface HealthChecksTable {
  id: Generated<number>;
  ts: string;
  workflow_id: string;
  healthy: number;
  checks: string;
}

import { SOURCE_NAMES, type SourceName } from '../sources';

export { SOURCE_NAMES, type SourceName };
export type SyncStatus = 'idle' | 'running';

/**
 * One row per data source: the spec's sync status, plus the durable cursor of the run in
 * progress. Each page commits its items and the cursor in one transaction, so a run resumes
 * exactly where the last commit left it.
 */
export interface DataSourceSyncTable {
  source_name: SourceName;
  status: Generated<SyncStatus>;
  last_sync_started_at: string | null;
  last_sync_completed_at: string | null;
  last_sync_success: number | null;
  last_outcome: RunOutcome | null;
  /** Items and pages of the last completed run. */
  items_synced: Generated<number>;
  pages_synced: Generated<number>;
  /** Items and pages of the run in progress (or the unfinished one a new run resumes). */
  run_items: Generated<number>;
  run_pages: Generated<number>;
  /** Adapter state of the run in progress; null when no run is unfinished. */
  cursor: string | null;
  /** Where the next run starts (e.g. the newest modification time seen). */
  watermark: string | null;
  /** Bumped by every commit: a commit based on a stale read is refused. */
  version: Generated<number>;
  consecutive_failures: Generated<number>;
  last_error: string | null;
  last_error_category: string | null;
  /** The workflow that runs (or last ran) the sync; a lock while status is running. */
  lease_holder: string | null;
  lease_expires_at: string | null;
  updated_at: string;
}

export const MEMORY_AUTHORITIES = ['canonical', 'inferred'] as const;
export type MemoryAuthority = (typeof MEMORY_AUTHORITIES)[number];

/** Never overwritten where history matters: a superseded row stays, pointing at its successor. */
export interface MemoryItemsTable {
  id: Generated<number>;
  key: string;
  value: string;
  authority: MemoryAuthority;
  source_type: string;
  source_id: string;
  content_hash: string;
  version: number;
  superseded_by: number | null;
  superseded_reason: string | null;
  superseded_at: string | null;
  created_at: string;
  updated_at: string;
  archived: Generated<number>;
  archived_at: string | null;
}

/** What an allowlisted address is: a phone number (SMS and calls) or a Telegram chat. */
export const ADDRESS_KINDS = ['phone', 'telegram'] as const;
export type AddressKind = (typeof ADDRESS_KINDS)[number];

/** An address messages may go to. Removing one stamps removed_at: the row stays, as history. */
export interface CommAllowlistTable {
  id: Generated<number>;
  kind: AddressKind;
  address: string;
  label: string | null;
  added_at: string;
  added_by: string;
  added_reason: string;
  removed_at: string | null;
  removed_by: string | null;
  removed_reason: string | null;
}

export const NOTIFICATION_ROUTES = ['call', 'sms', 'text', 'digest'] as const;
export type NotificationRoute = (typeof NOTIFICATION_ROUTES)[number];
export const CHANNELS = ['voice', 'sms', 'telegram', 'console'] as const;
export type Channel = (typeof CHANNELS)[number];
/**
 * pending: not tried yet. sending: an attempt is out. sent / failed: its outcome. unknown: an
 * attempt never reported (its worker died mid-send); never resent, so never sent twice.
 * held: waits for the daily digest; delivered: a sent digest carried it. suppressed: comms off,
 * kill switch or quiet hours. refused: no allowlisted recipient.
 */
export const NOTIFICATION_STATUSES = [
  'pending',
  'sending',
  'sent',
  'failed',
  'unknown',
  'held',
  'delivered',
  'suppressed',
  'refused',
] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/** One notification per idempotency key (workflow id and step): asking again never sends again. */
export interface NotificationsTable {
  id: Generated<number>;
  idempotency_key: string;
  created_at: string;
  updated_at: string;
  workflow_id: string | null;
  severity: Severity;
  type: string;
  title: string;
  body: string;
  requires_approval: number;
  meta: string | null;
  route: NotificationRoute;
  channel: Channel | null;
  recipient: string | null;
  status: NotificationStatus;
  status_reason: string | null;
  attempts: Generated<number>;
  provider_id: string | null;
  sent_at: string | null;
  /** The digest notification that carried a held one to the operator. */
  delivered_in: string | null;
  delivered_at: string | null;
  incident_id: number | null;
  archived: Generated<number>;
  archived_at: string | null;
}

export const ATTEMPT_OUTCOMES = ['sending', 'sent', 'failed', 'unknown', 'held', 'suppressed', 'refused'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** Every time a notification was routed or sent, and what came of it. */
export interface NotificationAttemptsTable {
  id: Generated<number>;
  notification_id: number;
  attempt: number;
  started_at: string;
  finished_at: string | null;
  channel: Channel | null;
  recipient: string | null;
  outcome: AttemptOutcome;
  detail: string | null;
  provider_id: string | null;
  workflow_id: string | null;
  activity_attempt: number | null;
}

/** Requests made to external APIs, per hour and service: the digest's api_calls. */
export interface ApiCallsTable {
  hour: string;
  service: string;
  calls: number;
}

/**
 * Requests to external APIs per second, service and endpoint, as they happen (migration 006): the
 * watchers read rate-limit use, failures and volume over a window from here. Rows are keyed by
 * the second first, so a read of a window costs the window, not the table.
 */
export interface ApiRequestWindowsTable {
  /** Unix time in whole seconds. */
  at_second: number;
  service: string;
  /** '' when the service has one endpoint worth telling apart. */
  endpoint: string;
  requests: number;
  /** Answers HTTP 429. */
  throttled: number;
  /** Requests that failed, 429s included. */
  failed: number;
}

/** Tables of migration 001; every later migration adds its own tables to OPS_TABLES. */
export const CORE_TABLES = ['agent_controls', 'agent_audit_log', 'incidents', 'dead_letters', 'health_checks'] as const;
export const SYNC_TABLES = ['data_source_sync', 'memory_items'] as const;
export const NOTIFY_TABLES = ['comm_allowlist', 'notifications', 'notification_attempts', 'api_calls'] as const;

export const WATCHER_TABLES = ['api_request_windows'] as const;

/** Every table of ops data: the database refuses DELETE (and TRUNCATE) on each. */
export const PROPOSAL_TABLES = ['proposals', 'incident_mutes'] as const;
export const OPS_TABLES = [...CORE_TABLES, ...SYNC_TABLES, ...NOTIFY_TABLES, ...WATCHER_TABLES, ...PROPOSAL_TABLES] as const;
