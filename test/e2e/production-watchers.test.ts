/**
 * The Temporal half of queue-depth and staleness, read from a real server: a task queue's backlog
 * (DescribeTaskQueue with stats) and each schedule's creation time and paused state.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { queueDepthWatcher } from '../../src/activities/watchers/queue-depth';
import { stalenessWatcher } from '../../src/activities/watchers/staleness';
import type { Watcher, WatcherCheck } from '../../src/activities/watchers/types';
import type { Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { reconcileSchedules } from '../../src/schedules/reconcile';
import { startSystem, type TestSystem } from '../helpers/system';

const MIN = 60_000;
const logger = createLogger('silent');

describe('production watchers on a Temporal server', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    // No worker: a task queue nobody polls keeps its backlog, and no scheduled run ever ends.
    sys = await startSystem({ startWorker: false });
  });
  afterAll(async () => {
    await sys.close();
  });

  const check = (watcher: Watcher, now: Date, config: Config = sys.config): Promise<WatcherCheck> =>
    watcher.check({ db: sys.store.db, store: sys.store, config, now, client: sys.client, logger });

  it('queue depth: the backlog of a task queue nobody polls, WARN once over the max', async () => {
    // A queue of its own (the schedules below start runs on the system's jobs queue), and a max of 3.
    const taskQueue = `backlog-${randomBytes(4).toString('hex')}`;
    const config: Config = {
      ...sys.config,
      temporal: { ...sys.config.temporal, taskQueue },
      watchers: { ...sys.config.watchers, queueDepth: { max: 3 } },
    };
    const start = (i: number) => sys.client.workflow.start('periodic_scan', { taskQueue, workflowId: `${taskQueue}-${i}`, args: [{}] });
    for (let i = 0; i < 3; i++) await start(i);
    // The server's figure is approximate and refreshed on its own clock: wait for it to say 3.
    const atMax = await vi.waitFor(
      async () => {
        const result = await check(queueDepthWatcher, new Date(), config);
        expect(result.summary).toMatch(/^deepest of 5 task queue\(s\): 3;/);
        return result;
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(atMax.findings).toEqual([]);

    await start(3);
    const over = await vi.waitFor(
      async () => {
        const result = await check(queueDepthWatcher, new Date(), config);
        expect(result.findings).toHaveLength(1);
        return result;
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(over.findings[0]).toMatchObject({
      subject: `task_queue:${taskQueue}`,
      severity: 'WARN',
      title: `Task queue ${taskQueue} has 4 tasks waiting (max 3)`,
    });
  });

  it('staleness: judged from each schedule’s creation time; a paused one is not judged', async () => {
    await reconcileSchedules(sys.client, sys.config, logger);
    const created = (await sys.client.schedule.getHandle('health_monitor').describe()).info.createdAt;
    const after = (ms: number) => new Date(created.getTime() + ms);

    // Just created: nothing is stale, whatever the store says (it has no runs at all).
    expect((await check(stalenessWatcher, new Date())).findings).toEqual([]);
    // process_retry_queue (every 30 s) may go 11 min; health_monitor and run_watchers (every 5 min) 20 min.
    const early = await check(stalenessWatcher, after(19 * MIN));
    expect(early.findings.map((f) => f.subject)).toEqual(['process_retry_queue']);
    expect(early.findings[0]!.title).toBe('process_retry_queue has not succeeded in 11 min: never ran');
    const late = await check(stalenessWatcher, after(21 * MIN));
    expect(late.findings.map((f) => f.subject).sort()).toEqual(['health_monitor', 'process_retry_queue', 'run_watchers']);

    await sys.client.schedule.getHandle('health_monitor').pause('maintenance');
    await sys.client.schedule.getHandle('run_watchers').pause('maintenance');
    const paused = await check(stalenessWatcher, after(21 * MIN));
    expect(paused.findings.map((f) => f.subject)).toEqual(['process_retry_queue']);
    expect(paused.summary).toMatch(/paused: health_monitor, run_watchers|paused: run_watchers, health_monitor/);
  });
});
