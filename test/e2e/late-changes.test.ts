/**
 * Changes that reach an API's listing after a sync has passed them: an n8n execution still running
 * at a sync that fails afterwards (its id is below failures the sync saw), and a HubSpot contact
 * that search shows only after newer ones (its index lags behind writes, not in write order).
 * Each is counted by the next run, exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { n8nAdapter } from '../../src/activities/sources/n8n';
import { countMemoryItems, listIncidents, listMemoryItems } from '../../src/store';
import { HubSpotFake, N8nFake } from '../fakes';
import { startSystem, type TestSystem } from '../helpers/system';

const FAST_PAGES = { pageTimeoutMs: 10_000 };
const MINUTE = 60_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

describe('n8n: an execution running at one sync that fails before the next (SQLite)', () => {
  const n8n = new N8nFake({ rateLimit: false });
  let sys: TestSystem;

  beforeAll(async () => {
    const url = await n8n.start();
    sys = await startSystem({ config: { sources: { ...FAST_PAGES, n8n: { baseUrl: url, apiKey: n8n.apiKey, pageSize: 2, minSyncIntervalMinutes: 0 } } } });
  });
  afterAll(async () => {
    await sys.close();
    await n8n.close();
  });

  it('is counted by the next run, once, though failures with newer ids were seen before it', async () => {
    const running = n8n.startRunning('wf-import', ago(20 * MINUTE));
    n8n.addFailures('wf-import', 2, ago(10 * MINUTE));
    const first = await sys.ops.runJob('sync_n8n');
    expect(first).toMatchObject({ outcome: 'succeeded', output: { items: 2 } });

    // It fails now, after ids above it were counted; one more failure arrives too.
    n8n.finish(running.id, 'error', new Date().toISOString());
    n8n.addFailures('wf-import', 1, ago(MINUTE));
    const second = await sys.ops.runJob('sync_n8n');
    expect(second).toMatchObject({ outcome: 'succeeded', output: { items: 2 } });
    // Three failures of wf-import across the two runs, none counted twice: the threshold (3 in one
    // run) is not reached, so no incident.
    expect((await listIncidents(sys.store.db)).filter((i) => i.type === 'n8n_workflow_failures')).toHaveLength(0);

    const third = await sys.ops.runJob('sync_n8n');
    expect(third).toMatchObject({ outcome: 'succeeded', output: { items: 0 } });
  });

  it('a watermark from before (ids only) still counts only newer ids, then reads late failures from the next run on', async () => {
    const adapter = n8nAdapter(sys.config);
    const now = new Date();
    const newest = Math.max(...n8n.executions.map((e) => e.id));
    const cursor = adapter.startCursor(JSON.stringify({ lastId: newest - 1 }), now);
    const page = await adapter.fetchPage(cursor, now);
    expect(page).toMatchObject({ items: 1, nextCursor: null });
    expect(JSON.parse(page.watermark!)).toMatchObject({ lastId: newest, syncedAt: now.toISOString(), countedBelow: newest - 1 });
  });
});

describe('HubSpot: a contact that search shows only after newer ones (SQLite)', () => {
  // The fake's index clock; moved forward to let the lagging write show.
  let skewMs = 0;
  const hubspot = new HubSpotFake({ rateLimit: false, clock: () => Date.now() + skewMs });
  let sys: TestSystem;

  beforeAll(async () => {
    const url = await hubspot.start();
    sys = await startSystem({ config: { sources: { ...FAST_PAGES, hubspot: { token: hubspot.token, baseUrl: url } } } });
  });
  afterAll(async () => {
    await sys.close();
    await hubspot.close();
  });

  it('is synced by the next run, and nothing is counted twice', async () => {
    const contact = (id: string, lastModified: string) => ({ id, email: `c${id}@example.com`, firstname: `F${id}`, lastname: `L${id}`, lastModified });
    hubspot.addContact(contact('1', ago(60_000)));
    // Written before contact 3, but its index entry is late (HubSpot indexes asynchronously).
    hubspot.addContact(contact('2', ago(30_000)), { indexLagMs: 10 * MINUTE });
    hubspot.addContact(contact('3', ago(10_000)));

    const first = await sys.ops.runJob('sync_hubspot');
    expect(first).toMatchObject({ outcome: 'succeeded', output: { items: 2 } });
    expect(hubspot.pendingIndex()).toBe(1);

    skewMs = 11 * MINUTE;
    expect(hubspot.pendingIndex()).toBe(0);
    const second = await sys.ops.runJob('sync_hubspot');
    // Contact 2, older than the newest read before, is read now; 1 and 3 are read again but
    // neither counted nor written.
    expect(second).toMatchObject({ outcome: 'succeeded', output: { items: 1 } });
    const items = await listMemoryItems(sys.store.db, { sourceType: 'hubspot' });
    expect(items.map((i) => i.key).sort()).toEqual(['hubspot.contact.1', 'hubspot.contact.2', 'hubspot.contact.3']);
    expect(items.every((i) => i.version === 1)).toBe(true);

    const third = await sys.ops.runJob('sync_hubspot');
    expect(third).toMatchObject({ outcome: 'succeeded', output: { items: 0 } });
    expect(await countMemoryItems(sys.store.db, 'hubspot')).toEqual({ current: 3, all: 3 });
  });
});
