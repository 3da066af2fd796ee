import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { JOB_NAMES } from '../../src/jobs';
import { historyFile, parseTag } from './history-files';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_PRELOAD_MODULES } from '../../src/workflow-bundle';

const DIR = join(__dirname, '..', 'histories');

/**
 * Branches recorded beside one ordinary run per workflow (test/replay/record-histories.ts). Files
 * are only ever added, so histories of older workflow code stay here and keep being replayed.
 */
const BRANCHES = [
  'opsControls-continued-as-new', // the run that continued as new
  'opsControls-after-continue-as-new', // the run after it, with state and registry carried over
  'sync_notion-killed', // a production job whose activity the kill switch cancelled
  'daily_digest-already-sent',
  'daily_digest-suppressed', // sent during quiet hours: the router suppressed it
  'daily_digest-comms-off', // comms off: the guard stops it before any step
  'sync_n8n-page-budget', // sources.maxPagesPerRun reached, more to do
  'process_retry_queue-exhausted', // a dead letter's last automatic attempt
  'periodic_scan-proposals', // steps 3 and 4 (record-proposals.ts)
  'applyProposal', // an approved proposal applied
  'applyProposal-blocked', // the same under the kill switch: noted, failed
  'sync_notion-dry-run', // a dry run: every activity under the dry-run header, its report in the output
  'process_retry_queue-dry-run', // a dry run's child job noted, not started
  'hubspotContactSync', // one webhook contact synced (record-hubspot-contact.ts)
];

function loadHistory(file: string) {
  return historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
}

describe('recorded histories replay against the current workflow code', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('has a history of every job, of ops-controls and of every recorded branch', () => {
    // A tagged history (<name>.<tag>.json) counts for its name.
    const names = files.map((f) => f.split('.')[0]!);
    for (const job of JOB_NAMES) expect(names).toContain(job);
    expect(names).toContain('opsControls');
    for (const branch of BRANCHES) expect(names).toContain(branch);
  });

  it('replays every history without a determinism error', async () => {
    const histories = files.map((file) => ({ workflowId: file, history: loadHistory(file) }));
    const results = [];
    for await (const result of Worker.runReplayHistories(
      // With the interceptors every worker bundles: a dry run's activity results are opened by them.
      { workflowsPath: join(__dirname, '..', 'workflows', 'index.ts'), interceptors: { workflowModules: [...WORKFLOW_INTERCEPTOR_MODULES] }, bundlerOptions: { preloadModules: [...WORKFLOW_PRELOAD_MODULES] }, replayName: 'replay-test' },
      histories,
    )) {
      results.push({ file: result.workflowId, error: result.error ? String(result.error) : undefined });
    }
    expect(results.map((r) => r.file).sort()).toEqual([...files].sort());
    expect(results.filter((r) => r.error)).toEqual([]);
  });

  it('the continue-as-new histories end in, and start from, a continue-as-new', () => {
    const continued = loadHistory('opsControls-continued-as-new.json').events ?? [];
    expect(continued.at(-1)!.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    const after = loadHistory('opsControls-after-continue-as-new.json').events ?? [];
    expect(after[0]!.workflowExecutionStartedEventAttributes?.continuedExecutionRunId).toBeTruthy();
  });
});

describe('the replay test catches a non-deterministic change, and patched() makes the change safe', () => {
  const replay = (workflowsPath: string) =>
    Worker.runReplayHistory({ workflowsPath, replayName: 'replay-changed' }, loadHistory('health_monitor.json')).then(
      () => undefined,
      (e: unknown) => e,
    );

  it('health_monitor with its activities reordered fails replay with a DeterminismViolationError', async () => {
    const err = await replay(join(__dirname, 'changed-workflows.ts'));
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('DeterminismViolationError');
  });

  it('the same reordering gated by patched() replays the old history', async () => {
    expect(await replay(join(__dirname, 'patched-workflows.ts'))).toBeUndefined();
  });
});

describe('the recorder only adds histories', () => {
  it('writes <name>.json when absent, keeps it when present, and puts a tagged set beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'histories-'));
    expect(historyFile(dir, 'daily_digest', undefined)).toBe(join(dir, 'daily_digest.json'));
    writeFileSync(join(dir, 'daily_digest.json'), '{}');
    expect(historyFile(dir, 'daily_digest', undefined)).toBeUndefined();
    expect(historyFile(dir, 'daily_digest', '2026-11-27')).toBe(join(dir, 'daily_digest.2026-11-27.json'));
    writeFileSync(join(dir, 'daily_digest.2026-11-27.json'), '{}');
    expect(historyFile(dir, 'daily_digest', '2026-11-27')).toBeUndefined();
  });

  it('takes a tag of plain characters only', () => {
    expect(parseTag([])).toBeUndefined();
    expect(parseTag(['--tag', 'v2'])).toBe('v2');
    for (const bad of [['--tag'], ['--tag', '../x'], ['--tag', 'a.b'], ['--tag', 'x'.repeat(41)]]) {
      expect(() => parseTag(bad)).toThrow(/--tag must be/);
    }
  });
});
