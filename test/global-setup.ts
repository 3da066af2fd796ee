/**
 * One Temporal dev server for the whole test run: the CLI already on this machine (through
 * @temporalio/testing's createLocal with that path; never a build or a download at test time),
 * in memory, headless, on a free port, with 40 namespaces so every test file gets its own, and our
 * search attributes in each. The workflow bundle is built once here for every worker.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../src/config';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../src/definitions';
import { createLogger } from '../src/logger';
import { findTemporalCli } from '../src/temporal/cli-binary';
import { dynamicConfigArgs } from '../src/temporal/dev-server';
import { ensureSearchAttributes } from '../src/temporal/search-attributes';
import { TEST_NAMESPACES } from './helpers/namespaces';
import { dropTestRunSchemas, testRunId } from './helpers/postgres';
import { workflowBundleOptions } from '../src/workflow-bundle';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    namespaceClaimDir: string;
    workflowBundlePath: string;
  }
}

export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const logger = createLogger('warn');
  // Set before any test process starts, so every one names its schemas with this run's id.
  const pgRun = testRunId();
  // The developer's OPS_CONFIG describes their system, not the test run.
  const config = loadConfig({ ...process.env, OPS_CONFIG: undefined });
  const cli = await findTemporalCli({
    cliPath: config.temporal.cliPath,
    cacheDir: config.cacheDir,
    allowBuild: false,
    allowDownload: false,
    logger: createLogger('silent'),
  }).catch((err: Error) => {
    throw new Error(
      `${err.message}\n\nTests never build or download the Temporal CLI. Run \`npx tsx scripts/provision-temporal.ts\` once (it is cached for every clone), then run the tests again.`,
    );
  });
  const work = mkdtempSync(join(tmpdir(), 'ops-tests-'));
  let env: TestWorkflowEnvironment | undefined;
  try {
    const [started, bundle] = await Promise.all([
      TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: cli },
          ip: '127.0.0.1',
          // No port, no uiPort, no dbFilename: a free port, headless, in memory.
          searchAttributes: [...CUSTOM_SEARCH_ATTRIBUTES],
          extraArgs: [...TEST_NAMESPACES.flatMap((namespace) => ['--namespace', namespace]), ...dynamicConfigArgs()],
          log: { format: 'pretty', level: 'error' },
        },
      }).catch((err: Error) => {
        throw new Error(`The test Temporal dev server (${cli}) did not start: ${err.message}`);
      }),
      bundleWorkflowCode({ ...workflowBundleOptions(join(__dirname, 'workflows', 'index.ts')), logger: quietBundlerLogger }),
    ]);
    env = started;
    const bundlePath = join(work, 'workflow-bundle.js');
    writeFileSync(bundlePath, bundle.code);

    // start-dev's --search-attribute covers every --namespace today; a CLI that stops doing so
    // must not turn into tests failing on "search attribute not defined".
    const connection = await Connection.connect({ address: env.address });
    try {
      await Promise.all(TEST_NAMESPACES.map((namespace) => ensureSearchAttributes(connection, namespace, logger)));
    } finally {
      await connection.close();
    }

    provide('temporalAddress', env.address);
    provide('temporalCliPath', cli);
    provide('namespaceClaimDir', join(work, 'claims'));
    provide('workflowBundlePath', bundlePath);
  } catch (err) {
    await env?.teardown();
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  const running = env;
  return async () => {
    await dropTestRunSchemas(pgRun).catch((err: Error) => process.stderr.write(`could not drop this run's PostgreSQL schemas: ${err.message}\n`));
    await running.teardown();
    rmSync(work, { recursive: true, force: true });
  };
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string, meta?: unknown) => process.stderr.write(`bundler: ${message} ${JSON.stringify(meta ?? {})}\n`),
};
