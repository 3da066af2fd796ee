/**
 * `npm start` itself (src/start.ts, as `tsx src/start.ts` runs it, in one process so that a
 * SIGKILL takes all of it), pointed at the chaos run's Temporal server, which it adopts and so
 * never owns: killing it does not kill Temporal. Resolves once it logs that it is running.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config';
import { awaitReady, type CrashWorker } from '../../test/helpers/crash-worker';
import { track } from './children';

const ROOT = join(__dirname, '..', '..');

export async function spawnNpmStart(config: Config, name: string): Promise<CrashWorker> {
  const configPath = join(config.dataDir, `npm-start-${name}.json`);
  writeFileSync(configPath, JSON.stringify({ ...config, logLevel: 'info' }));
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'start.ts')], {
      cwd: ROOT,
      env: { ...process.env, OPS_CONFIG: configPath, TEMPORAL_ADDRESS: '', DATABASE_URL: '', OPS_CRASH_POINT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  return awaitReady(child, { label: `npm start ${name}`, readyLine: 'personal-ops is running', readyWord: 'running' });
}
