/** What opsctl says, and which exit code it gives, when something fails after parsing. */
import { ScheduleNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { OpsClientError, OpsConnectError } from '../client';
import { sqlitePath, type Config } from '../config';
import { InvalidControlsChange } from '../controls-model';
import { UsageError } from './args';
import { innermostMessage, lostTemporal, storeUnavailable } from '../failure-causes';

export interface Failure {
  /** 2: the request was wrong and nothing changed; 1: the system could not do it. */
  code: 1 | 2;
  message: string;
}

export function describeFailure(err: unknown, config: Config): Failure {
  if (err instanceof UsageError || err instanceof InvalidControlsChange || err instanceof OpsClientError) {
    return { code: 2, message: err.message };
  }
  if (err instanceof WorkflowUpdateFailedError && storeUnavailable(err)) {
    // The request was good; the store could not take it, so nothing changed and it may be tried again.
    return { code: 1, message: `the controls were not changed: ${innermostMessage(err)}` };
  }
  if (err instanceof WorkflowUpdateFailedError) {
    // ops-controls validates every Update again; a rejection there is still a bad request.
    return { code: 2, message: `the controls refused the change: ${err.cause?.message ?? err.message}` };
  }
  if (err instanceof ScheduleNotFoundError) {
    return {
      code: 1,
      message: `no schedule "${err.scheduleId}" in namespace ${config.temporal.namespace}; \`npm start\` creates the schedules`,
    };
  }
  if (lostTemporal(err)) {
    return { code: 1, message: `lost Temporal at ${config.temporal.address} (TEMPORAL_ADDRESS): ${(err as Error).message}` };
  }
  return { code: 1, message: err instanceof Error ? err.message : String(err) };
}

/** Names the side that failed when the client says (OpsConnectError), else both. */
export function describeConnectFailure(err: unknown, config: Config): string {
  const store = config.databaseUrl ? 'PostgreSQL at DATABASE_URL' : `SQLite ${sqlitePath(config)} (OPS_DATA_DIR)`;
  if (err instanceof OpsConnectError && err.target === 'temporal') {
    return `cannot reach Temporal at ${config.temporal.address} (TEMPORAL_ADDRESS), namespace ${config.temporal.namespace}: ${(err.cause as Error | undefined)?.message ?? err.message}; \`npm start\` runs a local one`;
  }
  if (err instanceof OpsConnectError && err.target === 'store') {
    return `cannot open the store, ${store}: ${err.message}`;
  }
  return (
    `cannot connect: ${err instanceof Error ? err.message : String(err)}\n` +
    `  Temporal: ${config.temporal.address} (TEMPORAL_ADDRESS), namespace ${config.temporal.namespace}; \`npm start\` runs a local one\n` +
    `  store:    ${store}`
  );
}

