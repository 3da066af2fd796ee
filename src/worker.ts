import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createActivities } from './activities';
import { armCrashPoints } from './activities/crash-points';
import { activityBoundary } from './activities/boundary';
import type { Config } from './config';
import type { Logger } from './logger';
import { warmUpFetch } from './integrations/warm-up';
import { SOURCE_NAMES, sourceTaskQueue, taskQueueRate } from './sources';
import type { Store } from './store';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_PRELOAD_MODULES } from './workflow-bundle';

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

/** The process's workers, run and stopped together. */
export interface OpsWorker {
  run(): Promise<void>;
  shutdown(): void;
  /** RUNNING when every worker runs; else the first other state (INITIALIZED, STOPPING, FAILED, ...). */
  state(): string;
}

/**
 * One worker on the jobs task queue with every workflow and activity, and one per data source
 * that runs only that source's page and health-check activities. The server holds each source
 * queue to the API's limit (maxTaskQueueActivitiesPerSecond) across every worker process polling it.
 */
export async function createWorker(deps: WorkerDeps): Promise<OpsWorker> {
  const { config } = deps;
  armCrashPoints(process.env, deps.logger);
  const activityDeps = { ...deps, now: deps.now ?? (() => new Date()) };
  const workflowSource =
    config.temporal.workflowBundle && !deps.workflowsPath
      ? { workflowBundle: { codePath: config.temporal.workflowBundle } }
      : { workflowsPath: deps.workflowsPath ?? require.resolve('./workflows'), bundlerOptions: { preloadModules: [...WORKFLOW_PRELOAD_MODULES] } };
  const activities = createActivities(activityDeps);
  const interceptors = { activity: [activityBoundary(activityDeps)], workflowModules: [...WORKFLOW_INTERCEPTOR_MODULES] };
  const base = { connection: deps.connection, namespace: config.temporal.namespace, interceptors };
  const jobs = await Worker.create({
    ...base,
    taskQueue: config.temporal.taskQueue,
    ...workflowSource,
    activities: { ...activities, ...deps.extraActivities },
  });
  // The warm-up runs while the workers connect, before any of them polls.
  const [sources] = await Promise.all([
    Promise.all(SOURCE_NAMES.map((source) =>
      Worker.create({
        ...base,
        taskQueue: sourceTaskQueue(config.temporal.taskQueue, source),
        // syncHubSpotContact (the webhook's per-contact read) shares the hubspot queue's rate limit.
        activities: { syncSourcePage: activities.syncSourcePage, checkSourceApi: activities.checkSourceApi, syncHubSpotContact: activities.syncHubSpotContact },
        maxTaskQueueActivitiesPerSecond: taskQueueRate(config.sources[source].rateLimit),
        // Pages of one source are sequential; a few slots cover overlapping runs and retries.
        maxConcurrentActivityTaskExecutions: 4,
      }),
    )),
    warmUpFetch(),
  ]);
  const all = [jobs, ...sources];
  return {
    run: async () => {
      // If one worker stops with an error, stop the others too, then report the error.
      const runs = all.map((w) => w.run().catch((err: unknown) => {
        for (const other of all) if (other !== w && other.getState() === 'RUNNING') other.shutdown();
        throw err;
      }));
      await Promise.all(runs);
    },
    shutdown: () => {
      for (const w of all) if (w.getState() === 'RUNNING' || w.getState() === 'INITIALIZED') w.shutdown();
    },
    state: () => all.map((w) => w.getState()).find((s) => s !== 'RUNNING') ?? 'RUNNING',
  };
}
