/**
 * Records run_watchers with its body (the `run-watchers-body` patch) into test/histories/, add-only:
 *
 *   npx tsx test/replay/record-run-watchers.ts [--tag <tag>]
 *
 * - run_watchers-watchers: every watcher ran; repeated failures and a 429 raised incidents.
 * - run_watchers-watcher-failed: two watchers' query failed (a column renamed away), the others
 *   reported, and the run ended failed naming them.
 * A file that exists is kept (historyFile): `--tag` records a new set beside the old.
 */
import { join } from 'node:path';
import { sql } from 'kysely';
import { createLogger } from '../../src/logger';
import { insertAudit } from '../../src/store';
import { countApiCall, countApiFailure } from '../../src/store/api-calls';
import { bootSystem, startLocalTemporal } from '../helpers/boot';
import { parseTag, saveHistory } from './history-files';

const OUT = join(__dirname, '..', 'histories');

async function main(): Promise<void> {
  const logger = createLogger('info');
  const tag = parseTag(process.argv.slice(2));
  const { env, cli } = await startLocalTemporal();
  const sys = await bootSystem({ address: env.address, namespace: env.namespace ?? 'default', workflowsPath: require.resolve('../workflows') });
  const source = { cli, address: env.address, namespace: sys.config.temporal.namespace };
  const save = async (name: string, workflowId: string): Promise<void> => {
    const file = await saveHistory(source, OUT, name, tag, workflowId);
    logger.info(file ? { file } : { name }, file ? 'history recorded' : 'history kept (the file exists)');
  };
  try {
    await sys.ops.ensureControls();
    const db = sys.store.db;
    const now = Date.now();
    for (const m of [6, 4, 2]) {
      await insertAudit(db, { ts: new Date(now - m * 60_000).toISOString(), action: 'sync_n8n', action_type: 'system', success: 0, outcome: 'failed', error: 'recorded' });
    }
    await countApiCall(db, 'hubspot', new Date(now));
    await countApiFailure(db, 'hubspot', new Date(now), { throttled: true });
    const ok = await sys.ops.startJob('run_watchers');
    const okResult = await sys.ops.jobResult(ok.workflowId);
    if (okResult.outcome !== 'succeeded') throw new Error(`run_watchers did not succeed: ${JSON.stringify(okResult)}`);
    await save('run_watchers-watchers', ok.workflowId);

    await sql`alter table api_request_windows rename column throttled to throttled_gone`.execute(db);
    try {
      const bad = await sys.ops.startJob('run_watchers');
      const badResult = await sys.ops.jobResult(bad.workflowId);
      if (badResult.outcome !== 'failed') throw new Error(`run_watchers did not fail: ${JSON.stringify(badResult)}`);
      await save('run_watchers-watcher-failed', bad.workflowId);
    } finally {
      await sql`alter table api_request_windows rename column throttled_gone to throttled`.execute(db);
    }
  } finally {
    await sys.close();
    await env.teardown();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
