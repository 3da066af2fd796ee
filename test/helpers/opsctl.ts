/** opsctl run in-process against a test system, its output captured. */
import { Client, Connection } from '@temporalio/client';
import { runCli } from '../../src/cli';
import { OpsClient } from '../../src/client';
import type { Config } from '../../src/config';
import type { TestSystem } from './boot';

// JSON from the CLI, read loosely: the assertions say what shape is expected.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface OpsctlResult {
  code: number;
  stdout: string;
  stderr: string;
  json(): Json;
}

/** The environment opsctl reads, pointed at a test system's Temporal namespace and data dir. */
export function opsctlEnv(sys: TestSystem, extraEnv: Record<string, string> = {}): Record<string, string> {
  return {
    USER: 'jonah',
    TEMPORAL_ADDRESS: sys.config.temporal.address,
    TEMPORAL_NAMESPACE: sys.config.temporal.namespace,
    TEMPORAL_TASK_QUEUE: sys.config.temporal.taskQueue,
    OPS_DATA_DIR: sys.config.dataDir,
    ...extraEnv,
  };
}

export interface OpsctlOptions {
  /**
   * Let opsctl connect to its store itself, from its environment (DATABASE_URL, OPS_DATA_DIR),
   * as the real binary does, instead of being handed this process's store.
   */
  ownStore?: boolean;
}

export function opsctlFor(sys: TestSystem, extraEnv: Record<string, string> = {}, options: OpsctlOptions = {}) {
  const env = opsctlEnv(sys, extraEnv);
  return async (...args: string[]): Promise<OpsctlResult> => {
    let stdout = '';
    let stderr = '';
    // Unless ownStore, the CLI gets its own Temporal connection but this process's store: two
    // better-sqlite3 handles on one file in one process can stall each other (bin.test.ts covers
    // the real connect).
    const connect = async (config: Config) => {
      const connection = await Connection.connect({ address: config.temporal.address });
      return new OpsClient(new Client({ connection, namespace: config.temporal.namespace }), sys.store, config, { connection });
    };
    const code = await runCli(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env, connect: options.ownStore ? undefined : connect });
    return { code, stdout, stderr, json: () => JSON.parse(stdout) as Json };
  };
}
