/**
 * Syncs across worker processes: a worker killed in the middle of a sync (the next worker
 * resumes from the durable cursor: nothing lost, nothing stored twice), and two workers sharing
 * one API's rate limit (the limit is the task queue's, held by the server, not per process).
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { countMemoryItems, getSourceSync, listMemoryItems } from '../../src/store';
import { sourceTaskQueue } from '../../src/sources';
import { HubSpotFake, NotionFake } from '../fakes';
import { startSystem, type TestSystem } from '../helpers/system';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-processes';

const bundled = (sys: TestSystem) => ({
  ...sys.config,
  temporal: { ...sys.config.temporal, workflowBundle: inject('workflowBundlePath') },
});

describe('a worker killed in the middle of a sync', () => {
  const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(3_000), rateLimit: false });
  let sys: TestSystem;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    const url = await hubspot.start();
    // Each page is slow, so the kill lands mid-sync; a page attempt lost with its worker is
    // retried after pageTimeoutMs.
    sys = await startSystem({
      startWorker: false,
      config: { sources: { pageTimeoutMs: 3_000, hubspot: { token: hubspot.token, baseUrl: url, pageSize: 100 } } },
    });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await sys.close();
    await hubspot.close();
  });

  it('the next worker resumes from the durable cursor: every contact stored once, no page committed twice', async () => {
    hubspot.fail(...Array.from({ length: 30 }, () => ({ delayMs: 150 })));
    workers.push(await spawnWorker(bundled(sys), 'first'));
    const { workflowId } = await sys.ops.startJob('sync_hubspot');
    await waitFor(async () => ((await getSourceSync(sys.store.db, 'hubspot'))?.run_pages ?? 0) >= 8);
    await workers[0]!.crash();
    const atCrash = (await getSourceSync(sys.store.db, 'hubspot'))!;
    expect(atCrash.status).toBe('running');
    expect(atCrash.run_pages).toBeLessThan(30);

    workers.push(await spawnWorker(bundled(sys), 'second'));
    const result = await sys.ops.jobResult(workflowId);
    expect(result).toMatchObject({ outcome: 'succeeded', output: { pages: 30, items: 3_000 } });

    expect(await countMemoryItems(sys.store.db, 'hubspot')).toEqual({ current: 3_000, all: 3_000 });
    const items = await listMemoryItems(sys.store.db, { sourceType: 'hubspot' });
    expect(items.every((i) => i.version === 1)).toBe(true);
    // Every page was fetched; at most the page in flight at the crash was fetched twice. (Each
    // page's query starts from where the last one ended: its filters name the page.)
    const pages = hubspot.requests.map((r) => JSON.stringify((r.body as { filterGroups?: unknown }).filterGroups));
    const counts = new Map<string, number>();
    for (const p of pages) counts.set(p, (counts.get(p) ?? 0) + 1);
    expect(counts.size).toBe(30);
    expect([...counts.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(1);
    expect(await getSourceSync(sys.store.db, 'hubspot')).toMatchObject({ status: 'idle', cursor: null, items_synced: 3_000 });
  });
});

describe('two worker processes on one source', () => {
  // Notion's own shape of limit: 3 requests/s with a burst of 3; past it the fake answers 429.
  const notion = new NotionFake({ pages: NotionFake.generatePages(1_500, { tagEvery: 3, tag: 'Canonical' }) });
  let sys: TestSystem;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    const url = await notion.start();
    sys = await startSystem({ startWorker: false, config: { sources: { notion: { token: notion.token, baseUrl: url } } } });
    workers.push(...(await Promise.all([spawnWorker(bundled(sys), 'a'), spawnWorker(bundled(sys), 'b')])));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await sys.close();
    await notion.close();
  });

  it('pages run on both workers, and together they stay within the API limit: no 429', async () => {
    const result = await sys.ops.runJob('sync_notion');
    // 15 pages of live results, then one of the trash.
    expect(result).toMatchObject({ outcome: 'succeeded', output: { pages: 16, items: 500 } });
    expect(notion.rateLimited).toBe(0);

    const { scheduled, identities } = await pageActivities(sys, result.workflowId, 'notion');
    expect(scheduled).toBe(16);
    expect(identities.size).toBe(2);
  });
});

describe('two worker processes on HubSpot, with its limit on', () => {
  // HubSpot's documented limits for a private app: 100 requests in any rolling 10 s, and 5 per
  // second for the search endpoints (the fake's defaults). 1,200 contacts at 10 a page is 120
  // searches: more than one window's worth of each, so the run is paced by the limits, not just under them.
  const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(1_200) });
  let sys: TestSystem;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    const url = await hubspot.start();
    sys = await startSystem({ startWorker: false, config: { sources: { hubspot: { token: hubspot.token, baseUrl: url, pageSize: 10 } } } });
    workers.push(...(await Promise.all([spawnWorker(bundled(sys), 'h1'), spawnWorker(bundled(sys), 'h2')])));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await sys.close();
    await hubspot.close();
  });

  it('pages run on both workers, never more than 100 in any 10 s: no 429, every contact once', async () => {
    const started = performance.now();
    const result = await sys.ops.runJob('sync_hubspot');
    const seconds = (performance.now() - started) / 1000;
    expect(result).toMatchObject({ outcome: 'succeeded', output: { pages: 120, items: 1_200 } });
    expect(hubspot.rateLimited).toBe(0);
    expect(hubspot.requests).toHaveLength(120);
    expect(await countMemoryItems(sys.store.db, 'hubspot')).toEqual({ current: 1_200, all: 1_200 });

    const arrivals = hubspot.requests.map((r) => r.at);
    expect(busiestWindow(arrivals, 10_000)).toBeLessThanOrEqual(100);
    expect(busiestWindow(arrivals, 1_000)).toBeLessThanOrEqual(5);
    expect(overLimit(arrivals, 5, 1_000)).toBe(0);
    const { scheduled, identities } = await pageActivities(sys, result.workflowId, 'hubspot');
    expect(scheduled).toBe(120);
    expect(identities.size).toBe(2);
    process.stdout.write(
      `hubspot two workers: ${hubspot.requests.length} searches in ${seconds.toFixed(1)} s, 429s ${hubspot.rateLimited}, ` +
        `busiest 10 s ${busiestWindow(arrivals, 10_000)}, busiest 1 s ${busiestWindow(arrivals, 1_000)}, ` +
        `over a 5/s search limit ${overLimit(arrivals, 5, 1_000)}\n`,
    );
  });
});

/** Page activities of a sync run on the source's queue, and the worker identities that ran them. */
async function pageActivities(sys: TestSystem, workflowId: string, source: 'notion' | 'hubspot') {
  const pageQueue = sourceTaskQueue(sys.config.temporal.taskQueue, source);
  const history = await sys.client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Set<string>();
  const identities = new Set<string>();
  for (const event of history.events ?? []) {
    const attrs = event.activityTaskScheduledEventAttributes;
    if (attrs?.taskQueue?.name === pageQueue) scheduled.add(String(event.eventId));
    const started = event.activityTaskStartedEventAttributes;
    if (started && scheduled.has(String(started.scheduledEventId))) identities.add(started.identity ?? '');
  }
  return { scheduled: scheduled.size, identities };
}

/** The most arrivals (performance.now() ms) in any window of windowMs. */
function busiestWindow(arrivals: number[], windowMs: number): number {
  const sorted = [...arrivals].sort((a, b) => a - b);
  let most = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= windowMs) from++;
    most = Math.max(most, to - from + 1);
  }
  return most;
}

/** How many arrivals a sliding window of `max` per windowMs would have refused (refused ones not counted). */
function overLimit(arrivals: number[], max: number, windowMs: number): number {
  const accepted: number[] = [];
  let refused = 0;
  for (const at of [...arrivals].sort((a, b) => a - b)) {
    while (accepted.length > 0 && accepted[0]! <= at - windowMs) accepted.shift();
    if (accepted.length >= max) refused++;
    else accepted.push(at);
  }
  return refused;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
