import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createActivities } from './activities';
import { activityBoundary } from './activities/boundary';
import type { Config } from './config';
import type { Logger } from './logger';
import type { Store } from './store';

export interface WorkerDeps {
  config: Config;
  connection: NativeConnection;
  client: Client;
  store: Store;
  logger: Logger;
  now?: () => Date;
  /** Extra activities registered beside ours (tests). */
  extraActivities?: Record<string, (...args: never[]) => Promise<unknown>>;
  /** Overrides where workflows come from (tests add their own workflow module). */
  workflowsPath?: string;
}

/** One worker on the jobs task queue with every workflow and activity of the project. */
export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  const { config } = deps;
  const activityDeps = { ...deps, now: deps.now ?? (() => new Date()) };
  const workflowSource =
    config.temporal.workflowBundle && !deps.workflowsPath
      ? { workflowBundle: { codePath: config.temporal.workflowBundle } }
      : { workflowsPath: deps.workflowsPath ?? require.resolve('./workflows') };
  return Worker.create({
    connection: deps.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...workflowSource,
    activities: { ...createActivities(activityDeps), ...deps.extraActivities },
    interceptors: { activity: [activityBoundary(activityDeps)] },
  });
}
