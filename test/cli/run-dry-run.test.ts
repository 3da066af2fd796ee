/**
 * `opsctl run JOB --dry-run`: the run is started with dryRun in its JobInput, waited for, and its
 * dry-run report printed for a person (or the result as JSON with --json). The client here stands
 * in for Temporal only to capture the JobInput; the workflows' own dry runs are tested with them.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import type { OpsClient } from '../../src/client';
import { dryRunReportOf, formatDryRun, formatDryRunReport, maskAddress } from '../../src/cli/dry-run';
import type { JobInput, JobResult } from '../../src/definitions';

// The workflows' DryRunReport (definitions.ts), plus `external` as the brief described it.
const report = {
  writes: [
    { table: 'memory_items', op: 'insert', statements: 3 },
    { table: 'audit_log', op: 'insert', statements: 1 },
  ],
  sends: [{ channel: 'sms', to: '+15550000000', preview: 'Morning: 2 incidents\nopen' }],
  external: [{ service: 'hubspot', method: 'PATCH', path: '/crm/v3/objects/contacts/42' }],
  temporal: [{ action: 'start workflow', target: 'applyProposal apply-proposal-7' }],
  notes: ['sync previews its first page only'],
};

async function runWith(args: string[], result: Omit<JobResult, 'workflowId'>) {
  const started: { job: string; input: JobInput }[] = [];
  const client = {
    startJob: async (job: string, input: JobInput) => {
      started.push({ job, input });
      return { job, workflowId: `${job}-manual-1` };
    },
    jobResult: async (workflowId: string) => ({ ...result, workflowId }),
    jobProgress: async () => undefined,
    close: async () => undefined,
  } as unknown as OpsClient;
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    env: { USER: 'tester', OPS_CONFIG: undefined },
    connect: async () => client,
  });
  return { code, stdout, stderr, started };
}

describe('opsctl run --dry-run', () => {
  it('starts the run with dryRun: true, waits, and prints what it would do', async () => {
    const r = await runWith(['run', 'periodic_scan', '--dry-run'], {
      job: 'periodic_scan',
      outcome: 'succeeded',
      durationMs: 120,
      output: { dryRun: report },
    });
    expect(r.started).toEqual([{ job: 'periodic_scan', input: { dryRun: true } }]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'periodic_scan dry run periodic_scan-manual-1: succeeded in 120 ms',
        '  would insert memory_items ×3',
        '  would insert audit_log ×1',
        '  would send sms to +…0000: "Morning: 2 incidents\\nopen"',
        '  would call hubspot PATCH /crm/v3/objects/contacts/42',
        '  would start workflow applyProposal apply-proposal-7 (Temporal)',
        '  note: sync previews its first page only',
        '',
      ].join('\n'),
    );
  });

  it('--json prints the result, report included; a failed dry run exits 1', async () => {
    const r = await runWith(['run', 'sync_notion', '--dry-run', '--json'], {
      job: 'sync_notion',
      outcome: 'failed',
      error: 'notion: 401',
      durationMs: 5,
      output: { dryRun: report },
    });
    expect(r.started[0]!.input).toEqual({ dryRun: true });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ job: 'sync_notion', outcome: 'failed', output: { dryRun: report } });
  });

  it('a run without --dry-run carries no dryRun flag', async () => {
    const r = await runWith(['run', 'health_monitor'], { job: 'health_monitor', outcome: 'succeeded', durationMs: 1 });
    expect(r.started).toEqual([{ job: 'health_monitor', input: {} }]);
    expect(JSON.parse(r.stdout)).toEqual({ job: 'health_monitor', workflowId: 'health_monitor-manual-1' });
  });

  it('an output without a report, or with a malformed one, is said so, never thrown', () => {
    const base = { job: 'health_monitor' as const, workflowId: 'w', outcome: 'skipped' as const, reason: 'Kill switch is active', durationMs: 2 };
    expect(formatDryRun(base)).toBe('health_monitor dry run w: skipped (Kill switch is active) in 2 ms\n(no dry-run report in its output)');
    expect(dryRunReportOf({ output: { dryRun: { writes: [{ table: 't', op: 'insert', count: -1 }] } } })).toBeUndefined();
    expect(dryRunReportOf({ output: { dryRun: { writes: 'all' } } })).toBeUndefined();
    expect(formatDryRunReport({ writes: [], sends: [], external: [], temporal: [], notes: [] })).toEqual(['would change nothing']);
    // The brief's `count` is read as well as the workflows' `statements`.
    expect(dryRunReportOf({ output: { dryRun: { writes: [{ table: 't', op: 'update', count: 2 }] } } })?.writes).toEqual([{ table: 't', op: 'update', count: 2 }]);
  });

  it('stored text cannot forge lines or repaint the terminal; addresses are masked', () => {
    const lines = formatDryRunReport({
      writes: [{ table: 'x\n  would delete everything', op: 'insert', count: 1 }],
      notes: [],
      sends: [{ channel: 'telegram', to: '123456789' }],
      external: [{ service: 'n8n', method: 'POST', path: '/\u001b[2Jwebhook' }],
      temporal: [],
    });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('would insert x\\n  would delete everything ×1');
    expect(lines[1]).toBe('would send telegram to …6789');
    expect(lines[2]).not.toContain('\u001b');
    expect(maskAddress('+1 555 000 1234')).toBe('+…1234');
  });
});
