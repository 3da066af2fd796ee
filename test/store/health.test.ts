import { expect, it } from 'vitest';
import { insertHealthCheck, latestHealthCheck } from '../../src/store';
import { forEachStore } from './fixtures';

forEachStore((store) => {
  it('keeps one record per run; the latest is the last written', async () => {
    expect(await latestHealthCheck(store().db)).toBeUndefined();
    const report = { store: { ok: true }, temporal: { ok: false, detail: 'unreachable' } };
    await insertHealthCheck(store().db, { ts: '2026-05-01T00:00:00.000Z', workflow_id: 'health_monitor-1', healthy: 1, checks: '{}' });
    await insertHealthCheck(store().db, { ts: '2026-05-01T00:05:00.000Z', workflow_id: 'health_monitor-2', healthy: 0, checks: JSON.stringify(report) });
    const latest = await latestHealthCheck(store().db);
    expect(latest).toMatchObject({ ts: '2026-05-01T00:05:00.000Z', workflow_id: 'health_monitor-2', healthy: 0 });
    expect(JSON.parse(latest!.checks)).toEqual(report);
  });
});
