/**
 * Every name Temporal sees: workflow ids, task queue, signals, queries, updates, search
 * attributes. Workflows, the client, the worker and the schedules import them from here.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { ControlsChange, ControlsState, ControlsView } from './controls-model';
import type { JobName } from './jobs';

export const CONTROLS_WORKFLOW_ID = 'ops-controls';
export const CONTROLS_WORKFLOW_TYPE = 'opsControls';
export const DEFAULT_TASK_QUEUE = 'personal-ops-jobs';
/** Memo key marking Temporal objects (schedules) that this project owns and may reconcile. */
export const OWNER_MEMO_KEY = 'owner';
export const OWNER = 'personal-ops';

export const JOB_SEARCH_ATTRIBUTE = defineSearchAttributeKey('OpsJob', SearchAttributeType.KEYWORD);
export const OUTCOME_SEARCH_ATTRIBUTE = defineSearchAttributeKey('OpsOutcome', SearchAttributeType.KEYWORD);
export const CUSTOM_SEARCH_ATTRIBUTES = [JOB_SEARCH_ATTRIBUTE, OUTCOME_SEARCH_ATTRIBUTE] as const;

/*
 * The payload types below say what our own code sends. Anyone who can reach Temporal can send
 * anything under these names, so every handler checks its payload (controls-model.ts,
 * job-registry.ts) and drops a bad signal with a warning; the Update's validator refuses.
 */

// ops-controls
export const getControlsQuery = defineQuery<ControlsView>('getControls');
export const setControlsUpdate = defineUpdate<ControlsView, [ControlsChange]>('setControls');
export interface JobRegistration {
  workflowId: string;
  job: JobName;
}
/**
 * A job joins the fan-out list by signal (cheap, no limit on how many are in flight), then reads
 * the controls: ops-controls' own state by query, the store mirror if that cannot be had.
 */
export const jobStartedSignal = defineSignal<[JobRegistration]>('jobStarted');
export const jobEndedSignal = defineSignal<[string]>('jobEnded');
/**
 * Several runs ended (recordRun, from the worker): one signal for the runs that end together, so
 * a kill switch that ends a hundred runs queues a few signals on ops-controls, not a hundred.
 */
export const jobsEndedSignal = defineSignal<[string[]]>('jobsEnded');

// every job
export const controlsChangedSignal = defineSignal<[ControlsState]>('controlsChanged');
export const jobProgressQuery = defineQuery<JobProgress>('jobProgress');

export interface JobProgress {
  job: JobName;
  step: string;
  detail: Record<string, unknown>;
}

export type Trigger = 'schedule' | 'manual' | 'replay' | 'retry_queue';

export interface JobInput {
  trigger?: Trigger;
  /** Set when this run re-runs a dead letter; the outcome is written back to it. */
  replayOf?: number;
  params?: Record<string, unknown>;
  /**
   * A dry run (seed 003's simulation): the job's reads run for real; every store write, send,
   * external write and Temporal change is recorded instead of made (activities/dry-run.ts), and
   * the run's output lists them. Its audit row is `<job>.dry_run`, so no failure streak,
   * dead letter or incident ever comes of it.
   */
  dryRun?: boolean;
}

export type JobOutcome = 'succeeded' | 'skipped' | 'failed';

export interface JobResult {
  job: JobName;
  workflowId: string;
  outcome: JobOutcome;
  reason?: string;
  error?: string;
  category?: string;
  output?: Record<string, unknown>;
  durationMs: number;
}

export const SKIP_REASONS = {
  killSwitch: 'Kill switch is active',
  jobsDisabled: 'Jobs are disabled',
  quietHours: 'Quiet hours',
  notImplemented: 'not implemented',
  notConfigured: 'not configured',
  writesDisabled: 'Writes are disabled',
  commsDisabled: 'Comms are disabled',
} as const;

// dry runs (JobInput.dryRun)
/** Activity header a dry run's workflow sets on each activity it schedules (workflows/interceptors.ts). */
export const DRY_RUN_HEADER = 'ops-dry-run';
/** Key of the envelope a dry-run activity's result comes back in: the result and what it would have done. */
export const DRY_RUN_ENVELOPE = '__opsDryRun';

export interface DryRunWrite {
  table: string;
  op: 'insert' | 'update' | 'delete';
  /** Statements (an insert of many rows in one statement counts once). */
  statements: number;
}
export interface DryRunSend {
  channel: string;
  /** Masked (+…0000): the report may be printed or logged. */
  to: string;
  /** The first words of the text, credentials redacted. */
  preview: string;
}
export interface DryRunTemporalChange {
  /** e.g. 'start workflow', 'pause schedule', 'start child job'. */
  action: string;
  target: string;
}
/** What a dry run would have written, sent and changed; nothing of it happened. */
export interface DryRunReport {
  writes: DryRunWrite[];
  sends: DryRunSend[];
  temporal: DryRunTemporalChange[];
  /** Where the run stopped short of the real thing (e.g. a sync previews its first page only). */
  notes: string[];
}

