/**
 * The per-second request record the watchers read (migration 006), on SQLite and PostgreSQL: a
 * request, a failure and a 429 land in their second, and a failed call's error is rethrown as it was.
 */
import { expect, it } from 'vitest';
import { rethrowCounted } from '../../src/activities/watchers/api-usage';
import { httpFailure } from '../../src/integrations/http';
import { apiCallsSince, countApiCall, apiSecondsBetween, firstApiRequestAt, apiRequestsByService } from '../../src/store/api-calls';
import { forEachStore } from './fixtures';

forEachStore((store) => {
  const t = new Date('2026-05-05T05:05:05.250Z');

  it('counts requests per second, service and endpoint, with failures and 429s; the hourly count as before', async () => {
    const db = store().db;
    await countApiCall(db, 'hubspot', t);
    await countApiCall(db, 'hubspot', new Date(t.getTime() + 500));
    await countApiCall(db, 'hubspot', t, { endpoint: 'search', failed: true });
    await expect(rethrowCounted(db, 'hubspot', () => t)(httpFailure('HubSpot', 429, 'slow down', '1'))).rejects.toThrow('HubSpot answered HTTP 429');
    await expect(rethrowCounted(db, 'hubspot', () => t)(httpFailure('HubSpot', 500, 'oops'))).rejects.toThrow('HubSpot answered HTTP 500');
    // No service (the console channel): rethrown, nothing recorded.
    await expect(rethrowCounted(db, null, () => t)(new Error('console'))).rejects.toThrow('console');
    const seconds = await apiSecondsBetween(db, new Date(t.getTime() - 1000), new Date(t.getTime() + 1000));
    expect(seconds.map(({ service, endpoint, requests, throttled, failed }) => ({ service, endpoint, requests, throttled, failed }))).toEqual(
      expect.arrayContaining([
        { service: 'hubspot', endpoint: '', requests: 2, throttled: 1, failed: 2 },
        { service: 'hubspot', endpoint: 'search', requests: 1, throttled: 0, failed: 1 },
      ]),
    );
    expect(seconds).toHaveLength(2);
    expect(seconds[0]!.atSecond).toBe(Math.floor(t.getTime() / 1000));
    expect(await apiCallsSince(db, t)).toBe(3);
    expect((await apiRequestsByService(db, new Date(t.getTime() - 1000), new Date(t.getTime() + 1000))).get('hubspot')).toBe(3);
    expect(await firstApiRequestAt(db, 'hubspot')).toEqual(new Date(Math.floor(t.getTime() / 1000) * 1000));
    expect(await firstApiRequestAt(db, 'nobody')).toBeUndefined();
  });

  it('a window read is a range of the key: rows outside it are never read', async () => {
    const db = store().db;
    await countApiCall(db, 'notion', new Date(t.getTime() - 3_600_000));
    const inWindow = await apiSecondsBetween(db, new Date(t.getTime() - 60_000), new Date(t.getTime() + 60_000));
    expect(inWindow.every((s) => s.service !== 'notion')).toBe(true);
  });
});
