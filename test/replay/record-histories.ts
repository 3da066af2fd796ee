/**
 * Records one history of every workflow into test/histories/ (npm run record-histories).
 * Re-record only on purpose: the replay test exists to fail when workflow code changes in a way
 * that running workflows could not follow.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CONTROLS_WORKFLOW_ID } from '../../src/definitions';
import { JOB_NAMES } from '../../src/jobs';
import { TransientError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { listDeadLetters } from '../../src/store';
import { bootSystem, startLocalTemporal, startTestJob } from '../helpers/boot';

const OUT = join(__dirname, '..', 'histories');
const run = promisify(execFile);

async function main(): Promise<void> {
  const logger = createLogger('info');
  const { env, cli } = await startLocalTemporal();
  const sys = await bootSystem({
    address: env.address,
    namespace: env.namespace ?? 'default',
    workflowsPath: require.resolve('../workflows'),
  });
  const recorded: string[] = [];
  // The CLI writes the standard JSON history format (the SDK's historyToJSON trips over two
  // protobufjs copies in node_modules).
  const save = async (name: string, workflowId: string): Promise<void> => {
    const { stdout } = await run(cli, ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', env.address, '--namespace', sys.config.temporal.namespace], { maxBuffer: 64 << 20 });
    writeFileSync(join(OUT, `${name}.json`), stdout);
    recorded.push(name);
  };
  try {
    mkdirSync(OUT, { recursive: true });
    const who = { actor: 'recorder', reason: 'recording histories' };

    for (const job of JOB_NAMES) {
      if (job === 'process_retry_queue') continue;
      const result = await sys.ops.runJob(job);
      await save(job, result.workflowId);
    }

    // A failed run (dead letter), then the retry queue replaying it as a child.
    sys.acts.faults.set('flaky', { times: 5, error: () => new TransientError('timeout') });
    const failed = await startTestJob(sys, 'faultyJob', 'faulty-failed', { params: { fault: 'flaky' } });
    await sys.ops.jobResult(failed);
    await save('faultyJob-failed', failed);
    const letters = await listDeadLetters(sys.store.db, {});
    if (letters.length !== 1) throw new Error(`expected one dead letter, found ${letters.length}`);
    const queue = await sys.ops.runJob('process_retry_queue');
    await save('process_retry_queue', queue.workflowId);

    // A run stopped by the kill switch while blocked in an activity.
    const arrived = sys.acts.reachedGate();
    const gated = await startTestJob(sys, 'gatedJob', 'gated-killed');
    await arrived;
    await sys.ops.setKillSwitch(true, who);
    await sys.ops.jobResult(gated);
    await save('gatedJob-killed', gated);
    await sys.ops.changeControls({ killSwitch: false, quietHours: { enabled: true, start: '22:00', end: '06:00' }, ...who });
    await save('opsControls', CONTROLS_WORKFLOW_ID);
    logger.info({ recorded, dir: OUT }, 'histories recorded');
  } finally {
    await sys.close();
    await env.teardown();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
