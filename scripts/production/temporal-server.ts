/**
 * The production Temporal server of deploy/temporal-server.yaml, run here on the local PostgreSQL:
 * the cached v1.29 binaries (never built here), the schemas made by deploy/temporal-setup.sh, the
 * dynamic config of deploy/temporal-dynamicconfig.yaml, every port on 127.0.0.1. restart() stops
 * it (SIGTERM) and starts it again on the same databases, as a crashed or upgraded server comes back.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { temporalAnswers } from '../../src/temporal/dev-server';
import type { TemporalServerBinaries } from '../../src/temporal/server-binary';
import { createServer } from 'node:net';
import { stopGracefully, track } from '../chaos/children';

const run = promisify(execFile);
const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 20_000;

export interface PostgresTarget {
  host: string;
  port: string;
  user: string;
  password: string;
  database: string;
  visibilityDatabase: string;
}

export interface ProductionServer {
  readonly address: string;
  /** Wall-clock milliseconds of each start, the first included. */
  readonly startsMs: number[];
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The environment deploy/temporal-server.yaml and deploy/temporal-setup.sh read. */
function serverEnv(pg: PostgresTarget, ports: Record<string, number>, dynamicConfigFile: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_DB_HOST: pg.host,
    TEMPORAL_DB_PORT: pg.port,
    TEMPORAL_DB_USER: pg.user,
    TEMPORAL_DB_PASSWORD: pg.password,
    TEMPORAL_DB_NAME: pg.database,
    TEMPORAL_VISIBILITY_DB_NAME: pg.visibilityDatabase,
    TEMPORAL_BIND_ON_IP: '127.0.0.1',
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    TEMPORAL_DYNAMIC_CONFIG_FILE: dynamicConfigFile,
    TEMPORAL_LOG_LEVEL: 'warn',
    ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
  };
}

/** deploy/temporal-setup.sh, as docker-compose.yml runs it; resolves to its output. */
export async function setup(
  step: 'schema' | 'namespace',
  opts: { repo: string; env: NodeJS.ProcessEnv },
): Promise<string> {
  const { stdout, stderr } = await run('sh', [join(opts.repo, 'deploy/temporal-setup.sh'), step], {
    env: opts.env,
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`temporal-setup.sh ${step} failed: ${err.message.split('\n')[0]}\n${(err.stderr ?? '').split('\n').slice(-8).join('\n')}`);
  });
  return `${stdout}${stderr}`;
}

/**
 * A free port below 32768: the SQL cluster_membership table keeps rpc_port as a smallint, so an
 * ephemeral port (the OS picks 32768 and up) stops the server at start.
 */
async function freeMembershipSafePort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer()
        .once('error', () => resolve(false))
        .listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port between 20000 and 32000 on 127.0.0.1');
}

const GRPC_NOT_FOUND = 5;

/**
 * The frontend answers before history and matching have joined the membership ring; a schedule
 * created then fails ("Failed to create schedule"). Serving: matching answers a task-queue
 * describe, and history answers NOT_FOUND for a workflow that does not exist.
 */
async function untilServing(address: string, namespace: string, deadline: number): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: '5s' });
  try {
    let last = '';
    while (Date.now() < deadline) {
      try {
        const service = connection.workflowService;
        // A deadline per probe: a call the server cannot route yet may hang for its own retries.
        await connection.withDeadline(Date.now() + 5_000, async () => {
          await service.describeTaskQueue({ namespace, taskQueue: { name: 'ops-readiness-probe' }, taskQueueType: 1 });
          await service.describeWorkflowExecution({ namespace, execution: { workflowId: 'ops-readiness-probe' } }).catch((err: unknown) => {
            if (!(isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND)) throw err;
          });
        });
        return;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`the Temporal server at ${address} answered but did not serve namespace ${namespace} in time (${last})`);
  } finally {
    await connection.close();
  }
}

export async function startProductionServer(opts: {
  repo: string;
  dir: string;
  binaries: TemporalServerBinaries;
  cli: string;
  pg: PostgresTarget;
  namespace: string;
  progress?: (message: string) => void;
}): Promise<ProductionServer> {
  const progress = opts.progress ?? (() => undefined);
  // The server reads <root>/config/<env>.yaml: the deploy file, byte for byte, under that name.
  mkdirSync(join(opts.dir, 'config'), { recursive: true });
  copyFileSync(join(opts.repo, 'deploy/temporal-server.yaml'), join(opts.dir, 'config', 'personal-ops.yaml'));
  const names = [
    'TEMPORAL_FRONTEND_GRPC_PORT',
    'TEMPORAL_FRONTEND_HTTP_PORT',
    'TEMPORAL_FRONTEND_MEMBERSHIP_PORT',
    'TEMPORAL_MATCHING_GRPC_PORT',
    'TEMPORAL_MATCHING_MEMBERSHIP_PORT',
    'TEMPORAL_HISTORY_GRPC_PORT',
    'TEMPORAL_HISTORY_MEMBERSHIP_PORT',
    'TEMPORAL_WORKER_GRPC_PORT',
    'TEMPORAL_WORKER_MEMBERSHIP_PORT',
  ];
  const ports: Record<string, number> = {};
  for (const name of names) ports[name] = await freeMembershipSafePort(new Set(Object.values(ports)));
  const address = `127.0.0.1:${ports.TEMPORAL_FRONTEND_GRPC_PORT}`;
  const env = {
    ...serverEnv(opts.pg, ports, join(opts.repo, 'deploy/temporal-dynamicconfig.yaml')),
    TEMPORAL_SQL_TOOL: opts.binaries.sqlTool,
    TEMPORAL_CLI: opts.cli,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: opts.namespace,
  };
  progress('temporal-setup.sh schema');
  writeFileSync(join(opts.dir, 'setup-schema.log'), await setup('schema', { repo: opts.repo, env }));

  let child: ChildProcess | undefined;
  const startsMs: number[] = [];
  let starts = 0;
  const start = async (serving = true): Promise<void> => {
    const began = Date.now();
    const log = openSync(join(opts.dir, `server-${++starts}.log`), 'a');
    const started = track(spawn(opts.binaries.server, ['--env', 'personal-ops', 'start'], { cwd: opts.dir, env, stdio: ['ignore', log, log] }));
    closeSync(log);
    child = started;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await temporalAnswers(address, 1000))) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(`the Temporal server exited at start (${started.exitCode ?? started.signalCode}); see ${join(opts.dir, `server-${starts}.log`)}`);
      }
      if (Date.now() > deadline) throw new Error(`the Temporal server did not answer at ${address} in ${START_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 250));
    }
    if (serving) await untilServing(address, opts.namespace, deadline);
    startsMs.push(Date.now() - began);
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    await stopGracefully(running, STOP_GRACE_MS);
  };

  // The namespace does not exist at the first start: that start waits for the frontend only.
  progress('temporal-server start');
  await start(false);
  progress('temporal-setup.sh namespace');
  writeFileSync(join(opts.dir, 'setup-namespace.log'), await setup('namespace', { repo: opts.repo, env }));
  progress('waiting until history and matching serve');
  await untilServing(address, opts.namespace, Date.now() + START_TIMEOUT_MS);
  return {
    address,
    startsMs,
    restart: async () => {
      await stop();
      await start();
    },
    stop,
  };
}
