/**
 * `npm run chaos`: the failures a personal-ops system meets, each made to happen on purpose
 * against a real Temporal dev server of its own, real worker processes, a real store and the
 * local API fakes (all on 127.0.0.1), and counted. One row per scenario: runs, items expected,
 * lost, duplicated, and the time from the last blow until the work was complete again with no
 * person involved. Exits 1 if any row lost or duplicated anything, or did not finish.
 *
 * CHAOS_ONLY=<substring>[,<substring>...] runs only the scenarios whose name contains one of them.
 * Never downloads: the Temporal CLI must be cached already (npm start or the tests put it there).
 */
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { freePort } from '../test/helpers/ports';
import { scenarios, type ChaosContext, type Row } from './chaos/scenarios';
import { startChaosServer } from './chaos/server';
import { killChildrenOnInterrupt } from './chaos/children';
import { workflowBundleOptions } from '../src/workflow-bundle';

async function main(): Promise<void> {
  killChildrenOnInterrupt();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const logger = createLogger('warn', { pretty: false });
  const only = (process.env.CHAOS_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const chosen = scenarios().filter((s) => only.length === 0 || only.some((o) => s.name.includes(o)));
  if (chosen.length === 0) throw new Error(`CHAOS_ONLY=${only.join(',')}: no scenario matches`);
  const root = mkdtempSync(join(tmpdir(), 'ops-chaos-'));
  const started = performance.now();
  progress(`chaos: ${chosen.length} scenarios; bundling the workflows`);
  const bundle = await bundleWorkflowCode({ ...workflowBundleOptions(require.resolve('../src/workflows')), logger: new DefaultLogger('ERROR') });
  const bundlePath = join(root, 'workflows.js');
  writeFileSync(bundlePath, bundle.code);
  const server = await startChaosServer({
    dataDir: root,
    port: await freePort(),
    namespaces: chosen.map((s) => s.namespace),
    cacheDir: loadConfig({}).cacheDir,
    logger,
  });
  const ctx: ChaosContext = { server, bundlePath, root };
  const rows: Row[] = [];
  try {
    for (const scenario of chosen) {
      progress(`chaos: ${scenario.name}`);
      const row = await scenario.run(ctx);
      rows.push(row);
      progress(`  ${formatRow(row)}`);
    }
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
  process.stdout.write(`\n${table(rows)}\n`);
  const bad = rows.filter((r) => r.lost > 0 || r.duplicated > 0 || r.error);
  process.stdout.write(`\n${rows.length} scenarios in ${((performance.now() - started) / 1000).toFixed(0)} s; ${bad.length ? `${bad.length} FAILED` : 'all clean: 0 lost, 0 duplicated'}\n`);
  for (const r of bad) process.stdout.write(`  ${r.scenario}: ${[r.error, ...r.detail].filter(Boolean).join('; ')}\n`);
  process.exitCode = bad.length ? 1 : 0;
}

const COLUMNS = ['scenario', 'runs', 'blows', 'expected', 'lost', 'duplicated', 'moving s', 'done s', 'notes'] as const;

function cells(r: Row): string[] {
  return [
    r.scenario,
    String(r.runs),
    String(r.blows),
    String(r.expected),
    String(r.lost),
    String(r.duplicated),
    seconds(r.resumedMs),
    seconds(r.recoverMs),
    r.error ? `ERROR: ${r.error}` : r.note,
  ];
}

const seconds = (ms: number | null): string => (ms === null ? '-' : (ms / 1000).toFixed(1));

function table(rows: Row[]): string {
  const all = [COLUMNS as readonly string[], ...rows.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(COLUMNS), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map((r) => line(cells(r)))].join('\n');
}

function formatRow(r: Row): string {
  return COLUMNS.map((c, i) => `${c}=${cells(r)[i]}`).join(' ');
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
