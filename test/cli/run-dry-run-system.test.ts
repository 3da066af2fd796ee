/**
 * `opsctl run JOB --dry-run` against a running system (real worker, real workflows' dry runs):
 * it waits, prints the report the run produced, and the run is audited as a dry run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dryRunReportOf } from '../../src/cli/dry-run';
import { listAudit } from '../../src/store';
import { opsctlFor } from '../helpers/opsctl';
import { startSystem, type TestSystem } from '../helpers/system';

describe('opsctl run --dry-run on a running system', () => {
  let sys: TestSystem;
  let opsctl: ReturnType<typeof opsctlFor>;
  beforeAll(async () => {
    sys = await startSystem();
    opsctl = opsctlFor(sys);
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('prints what the run would do, and the run is audited as a dry run', async () => {
    const r = await opsctl('run', 'health_monitor', '--dry-run');
    expect(r.stderr).toMatch(/waiting for health_monitor-manual-/);
    expect(r.code).toBe(0);
    const [head, ...lines] = r.stdout.trimEnd().split('\n');
    expect(head).toMatch(/^health_monitor dry run health_monitor-manual-\S+: succeeded in \d+ ms$/);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^ {2}(would |note: )/);
    const workflowId = head!.split(' ')[3]!.replace(/:$/, '');
    const audit = await listAudit(sys.store.db, { job: 'health_monitor.dry_run' });
    expect(audit.map((a) => a.workflow_id)).toContain(workflowId);
  });

  it('--json: the result, its dry-run report readable by the same parser', async () => {
    const r = await opsctl('run', 'health_monitor', '--dry-run', '--json');
    expect(r.code).toBe(0);
    const result = r.json();
    expect(result).toMatchObject({ job: 'health_monitor', outcome: 'succeeded' });
    expect(dryRunReportOf(result)).toBeDefined();
  });
});
