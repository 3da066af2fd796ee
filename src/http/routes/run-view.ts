/** A job run as the API shows it: its result once it ended, else its status and progress. */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { OpsClient } from '../../client';
import type { JobProgress, JobResult } from '../../definitions';
import { isJobName, type JobName } from '../../jobs';
import { safeText } from '../errors';

/** A query answers from the worker; without one polling the run it would wait for the RPC's own timeout. */
const PROGRESS_DEADLINE_MS = 2000;

export interface RunView {
  job: JobName;
  workflowId: string;
  /** Temporal's execution status, lower case: running, completed, failed, terminated, timed_out, ... */
  status: string;
  /** The JobResult of an ended run (a failed job's comes from its failure). */
  result?: JobResult;
  /** A running run's progress; null when its worker did not answer. */
  progress?: JobProgress | null;
  /** Why an ended run has no JobResult (terminated, timed out, cancelled). */
  error?: string;
}

export async function runProgress(ops: OpsClient, workflowId: string): Promise<JobProgress | null> {
  const connection = ops.temporal.connection;
  const progress = await connection.withDeadline(Date.now() + PROGRESS_DEADLINE_MS, () => ops.jobProgress(workflowId));
  return progress ?? null;
}

/** undefined: no such run, or a workflow that is not a job run (ops-controls, deliveries, ...). */
export async function readRun(ops: OpsClient, workflowId: string): Promise<RunView | undefined> {
  let description;
  try {
    description = await ops.temporal.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  if (!isJobName(description.type)) return undefined;
  const base = { job: description.type, workflowId, status: description.status.name.toLowerCase() };
  if (description.status.name === 'RUNNING') return { ...base, progress: await runProgress(ops, workflowId) };
  return { ...base, ...(await endedRun(ops, workflowId)) };
}

/** What an ended run left: its JobResult, or why there is none. */
async function endedRun(ops: OpsClient, workflowId: string): Promise<{ result: JobResult } | { error: string }> {
  try {
    return { result: await ops.jobResult(workflowId) };
  } catch (err) {
    return { error: safeText(innermostMessage(err as Error), 500) };
  }
}

function innermostMessage(err: Error): string {
  let e: Error = err;
  for (let depth = 0; e.cause instanceof Error && depth < 5; depth++) e = e.cause;
  return e.message;
}
