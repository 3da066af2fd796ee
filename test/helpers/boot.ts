/**
 * A whole personal-ops system (tests, history recording, benches): its own namespace on the shared dev server,
 * its own store (SQLite file or a fresh PostgreSQL schema), a worker running the test bundle.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { configSchema, loadConfig, sqlitePath, type Config } from '../../src/config';
import { CONTROLS_WORKFLOW_ID, CUSTOM_SEARCH_ATTRIBUTES, getControlsQuery } from '../../src/definitions';
import { findTemporalCli } from '../../src/temporal/cli-binary';
import { dynamicConfigArgs } from '../../src/temporal/dev-server';
import { OpsClient } from '../../src/client';
import type { ControlsView } from '../../src/controls-model';
import type { JobInput } from '../../src/definitions';
import { createLogger } from '../../src/logger';
import { migrateToLatest, openStore, type Store } from '../../src/store';
import { createWorker, type OpsWorker } from '../../src/worker';
import { createTestActivities } from './test-activities';
import { TEST_DATABASE_URL, testSchemaName } from './postgres';

export { TEST_DATABASE_URL } from './postgres';

/** Retries fast enough for tests; the spec's values are asserted where the table is tested. */
export const FAST_RETRY = { initialDelayMs: 100, backoffMultiplier: 2, maxAttempts: 5, maxDelayMs: 1000 };

export interface SystemOptions {
  config?: Record<string, unknown>;
  dialect?: 'sqlite' | 'postgres';
  now?: () => Date;
  startWorker?: boolean;
}

export interface TestSystem {
  config: Config;
  ops: OpsClient;
  client: Client;
  store: Store;
  acts: ReturnType<typeof createTestActivities>;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

/** The same outside vitest (history recording, benches): the caller names server and bundle. */
export async function bootSystem(
  where: { address: string; namespace: string; workflowBundle?: string; workflowsPath?: string },
  options: SystemOptions = {},
): Promise<TestSystem> {
  const { namespace } = where;
  const dataDir = mkdtempSync(join(tmpdir(), 'ops-test-'));
  const { temporal: temporalOverrides, ...rest } = (options.config ?? {}) as { temporal?: Record<string, unknown> };
  const config = configSchema.parse({
    dataDir,
    retry: FAST_RETRY,
    ...rest,
    temporal: {
      address: where.address,
      namespace,
      taskQueue: `jobs-${namespace}`,
      workflowBundle: where.workflowBundle,
      ...temporalOverrides,
    },
    ...(options.dialect === 'postgres' ? { databaseUrl: TEST_DATABASE_URL } : {}),
  });
  const pgSchema = options.dialect === 'postgres' ? testSchemaName(namespace) : undefined;
  const store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: sqlitePath(config), pgSchema });
  await migrateToLatest(store);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace });
  const ops = new OpsClient(client, store, config);
  const acts = createTestActivities();
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

  let worker: OpsWorker | undefined;
  let running: Promise<void> | undefined;
  let native: NativeConnection | undefined;

  const system: TestSystem = {
    config,
    ops,
    client,
    store,
    acts,
    async startWorker() {
      if (worker) return;
      native = await NativeConnection.connect({ address: config.temporal.address });
      const started = await createWorker({
        config,
        connection: native,
        client,
        store,
        logger,
        now: options.now,
        extraActivities: acts.activities,
        workflowsPath: where.workflowsPath,
      });
      worker = started;
      running = started.run();
    },
    async stopWorker() {
      if (!worker) return;
      worker.shutdown();
      await running;
      await native?.close();
      worker = undefined;
      running = undefined;
    },
    async close() {
      await system.stopWorker();
      await connection.close();
      // Its PostgreSQL schema is dropped when the run ends (test/helpers/postgres.ts).
      await store.close();
    },
  };
  if (options.startWorker !== false) await system.startWorker();
  return system;
}

/** Starts one of the test workflows of test/workflows (they are not spec jobs, so not via OpsClient). */
export async function startTestJob(
  sys: TestSystem,
  workflowType: 'gatedJob' | 'stepsJob' | 'faultyJob' | 'noopJob',
  workflowId: string,
  input: JobInput = {},
): Promise<string> {
  await sys.client.workflow.start(workflowType, {
    workflowId,
    taskQueue: sys.config.temporal.taskQueue,
    args: [{ trigger: 'manual', ...input }],
  });
  return workflowId;
}

/** Starts a gatedJob per id and resolves once every one is blocked at the gate, inside its first step. */
export async function startGatedJobs(sys: TestSystem, workflowIds: string[]): Promise<string[]> {
  // Listened for before the starts, so an arrival that comes first is not missed.
  const arrivals = workflowIds.map(() => sys.acts.reachedGate());
  await Promise.all(workflowIds.map((id) => startTestJob(sys, 'gatedJob', id)));
  await Promise.all(arrivals);
  return workflowIds;
}

/** Starts a gatedJob and resolves with its id once it is blocked at the gate, inside its first step. */
export async function startGatedJob(sys: TestSystem, workflowId: string): Promise<string> {
  // Listened for before the start, so an arrival that comes first is not missed.
  const arrived = sys.acts.reachedGate();
  await startTestJob(sys, 'gatedJob', workflowId);
  await arrived;
  return workflowId;
}

/**
 * Replaces ops-controls with a run of the same state that continues as new after
 * `maxHistoryLength` events; resolves with its handle, that first run's id and the state it took over.
 */
export async function restartControlsWithShortHistory(
  sys: TestSystem,
  maxHistoryLength: number,
): Promise<{ handle: WorkflowHandle; firstRun: string; before: ControlsView }> {
  const handle = sys.client.workflow.getHandle(CONTROLS_WORKFLOW_ID);
  const before = await handle.query(getControlsQuery);
  await handle.terminate('test: restart with a short history limit');
  await sys.client.workflow.start('opsControls', {
    workflowId: CONTROLS_WORKFLOW_ID,
    taskQueue: sys.config.temporal.taskQueue,
    args: [{ state: before, maxHistoryLength }],
  });
  return { handle, firstRun: (await handle.describe()).runId, before };
}

/** A dev server of our own from the cached CLI (never built or downloaded here), with our search attributes. */
export async function startLocalTemporal(): Promise<{ env: TestWorkflowEnvironment; cli: string }> {
  const config = loadConfig();
  const cli = await findTemporalCli({
    cliPath: config.temporal.cliPath,
    cacheDir: config.cacheDir,
    allowBuild: false,
    allowDownload: false,
    logger: createLogger('warn'),
  });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: [...CUSTOM_SEARCH_ATTRIBUTES],
      extraArgs: dynamicConfigArgs(),
    },
  });
  return { env, cli };
}
