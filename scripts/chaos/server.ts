/**
 * The chaos run's own Temporal dev server: the cached CLI only (never built or downloaded), on
 * 127.0.0.1, its state in one SQLite file, one namespace per scenario. restart() stops it and
 * starts it again on the same file, as a crashed or upgraded server comes back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { findTemporalCli } from '../../src/temporal/cli-binary';
import { dynamicConfigArgs, searchAttributeArgs, temporalAnswers } from '../../src/temporal/dev-server';
import type { Logger } from '../../src/logger';
import { stopGracefully, track } from './children';

export interface ChaosServer {
  readonly address: string;
  /** SIGTERM, then the same server (same file) again; resolves once it answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export async function startChaosServer(opts: {
  dataDir: string;
  port: number;
  namespaces: string[];
  cacheDir: string;
  logger: Logger;
}): Promise<ChaosServer> {
  const cli = await findTemporalCli({ cacheDir: opts.cacheDir, allowBuild: false, allowDownload: false, logger: opts.logger });
  const address = `127.0.0.1:${opts.port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--headless',
    '--db-filename',
    join(opts.dataDir, 'temporal.sqlite'),
    ...opts.namespaces.flatMap((n) => ['--namespace', n]),
    ...searchAttributeArgs(),
    ...dynamicConfigArgs(),
    '--log-level',
    'error',
  ];
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    // Its output is not ours to read: ignored, so it can never die of a closed pipe.
    const started = track(spawn(cli, args, { stdio: 'ignore' }));
    child = started;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await temporalAnswers(address, 1000))) {
      if (started.exitCode !== null || started.signalCode !== null) throw new Error(`the Temporal dev server exited at start (${started.exitCode ?? started.signalCode})`);
      if (Date.now() > deadline) throw new Error(`the Temporal dev server did not answer at ${address} in ${START_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    await stopGracefully(running, STOP_GRACE_MS);
  };

  await start();
  return {
    address,
    restart: async () => {
      await stop();
      await start();
    },
    stop,
  };
}
