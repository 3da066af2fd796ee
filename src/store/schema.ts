import type { Generated } from 'kysely';

/** Timestamps are ISO-8601 UTC strings, JSON columns are JSON text, booleans 0/1, on both dialects. */
export interface Database {
  agent_controls: AgentControlsTable;
  agent_audit_log: AuditTable;
  incidents: IncidentsTable;
  dead_letters: DeadLettersTable;
  health_checks: HealthChecksTable;
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

/** Every table of ops data: the database refuses DELETE (and TRUNCATE) on each. */
export const OPS_TABLES = ['agent_controls', 'agent_audit_log', 'incidents', 'dead_letters', 'health_checks'] as const;
