import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { JOB_NAMES } from '../../src/jobs';

const DIR = join(__dirname, '..', 'histories');

describe('recorded histories replay against the current workflow code', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('has a history of every job and of ops-controls', () => {
    const names = files.map((f) => f.replace(/\.json$/, ''));
    for (const job of JOB_NAMES) expect(names).toContain(job);
    expect(names).toContain('opsControls');
  });

  it('replays every history without a determinism error', async () => {
    const histories = files.map((file) => ({
      workflowId: file,
      history: historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8'))),
    }));
    const results = [];
    for await (const result of Worker.runReplayHistories(
      { workflowsPath: join(__dirname, '..', 'workflows', 'index.ts'), replayName: 'replay-test' },
      histories,
    )) {
      results.push({ file: result.workflowId, error: result.error ? String(result.error) : undefined });
    }
    expect(results).toHaveLength(files.length);
    expect(results.filter((r) => r.error)).toEqual([]);
  });
});

describe('the replay test catches a non-deterministic change', () => {
  it('health_monitor with its activities reordered fails replay with a DeterminismViolationError', async () => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(DIR, 'health_monitor.json'), 'utf8')));
    const err = await Worker.runReplayHistory(
      { workflowsPath: join(__dirname, 'changed-workflows.ts'), replayName: 'replay-changed' },
      history,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('DeterminismViolationError');
  });
});
