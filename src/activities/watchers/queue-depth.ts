/**
 * Production monitoring: "Monitor queue depth (alert if >100 jobs)". Two queues hold work that
 * waits: Temporal's task queues (the jobs queue's workflow and activity tasks, and each source's
 * rate-limited page queue), read with DescribeTaskQueue's stats, and the open dead letters. Each
 * over queueDepth.max -> WARN, one incident per queue.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from '../../config';
import { SOURCE_NAMES, sourceTaskQueue } from '../../sources';
import { openDeadLetterCount } from '../../store';
import type { Watcher, WatcherFinding } from './types';

export const QUEUE_DEPTH_INCIDENT = 'queue_depth';
export const DEAD_LETTER_QUEUE_SUBJECT = 'dead_letters';

const { TaskQueueType, TaskQueueKind } = temporal.api.enums.v1;

/** The server answers a describe from memory; one that takes longer is not answering. */
const DESCRIBE_DEADLINE_MS = 5000;

export interface QueueBacklog {
  /** The task queue's name. */
  queue: string;
  workflowTasks: number;
  activityTasks: number;
}

/**
 * Every task queue of this deployment and its approximate backlog. Sources' queues only ever get
 * page activities; the jobs queue gets both kinds. Throws when Temporal does not answer: a backlog
 * that cannot be read is not an empty one (the runner then leaves the open incidents as they are).
 */
export async function temporalBacklogs(client: Client, config: Config): Promise<QueueBacklog[]> {
  const jobs = config.temporal.taskQueue;
  const describe = async (queue: string, type: temporal.api.enums.v1.TaskQueueType): Promise<number> => {
    const response = await client.connection.withDeadline(Date.now() + DESCRIBE_DEADLINE_MS, () =>
      client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: queue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: type,
        reportStats: true,
      }),
    );
    return Number(response.stats?.approximateBacklogCount ?? 0);
  };
  const queues = [
    { queue: jobs, workflow: true },
    ...SOURCE_NAMES.map((source) => ({ queue: sourceTaskQueue(jobs, source), workflow: false })),
  ];
  return Promise.all(
    queues.map(async ({ queue, workflow }) => {
      const [workflowTasks, activityTasks] = await Promise.all([
        workflow ? describe(queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW) : Promise.resolve(0),
        describe(queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
      ]);
      return { queue, workflowTasks, activityTasks };
    }),
  );
}

export type BacklogReader = (client: Client, config: Config) => Promise<QueueBacklog[]>;

/** The watcher; tests of the dead-letter half hand in a reader instead of a Temporal server. */
export function createQueueDepthWatcher(readBacklogs: BacklogReader = temporalBacklogs): Watcher {
  return {
    name: 'queue_depth',
    incidentType: QUEUE_DEPTH_INCIDENT,
    async check({ db, client, config }) {
      const { max } = config.watchers.queueDepth;
      const [backlogs, deadLetters] = await Promise.all([readBacklogs(client, config), openDeadLetterCount(db)]);
      const findings: WatcherFinding[] = [];
      for (const b of backlogs) {
        const depth = b.workflowTasks + b.activityTasks;
        if (depth <= max) continue;
        findings.push({
          subject: `task_queue:${b.queue}`,
          severity: 'WARN',
          title: `Task queue ${b.queue} has ${depth} tasks waiting (max ${max})`,
          body:
            `Approximate backlog of ${b.queue}: ${b.workflowTasks} workflow task(s), ${b.activityTasks} activity task(s). ` +
            `Workers are not keeping up, or none is polling it.`,
        });
      }
      if (deadLetters > max) {
        findings.push({
          subject: DEAD_LETTER_QUEUE_SUBJECT,
          severity: 'WARN',
          title: `${deadLetters} dead letters are open (max ${max})`,
          body: `${deadLetters} failed runs wait in the dead-letter queue (open or out of automatic retries): opsctl dead-letters list.`,
        });
      }
      const deepest = backlogs.reduce((m, b) => Math.max(m, b.workflowTasks + b.activityTasks), 0);
      return {
        findings,
        summary: `deepest of ${backlogs.length} task queue(s): ${deepest}; open dead letters: ${deadLetters} (max ${max})`,
        cleared: `back at or under ${max} waiting`,
      };
    },
  };
}

export const queueDepthWatcher = createQueueDepthWatcher();
