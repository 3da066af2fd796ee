/**
 * One Temporal dev server for the whole test run (the cached CLI through @temporalio/testing,
 * never a download), 40 namespaces so every test file gets its own, and the workflow bundle
 * built once for every worker.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
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
import { ensureSearchAttributes } from '../src/temporal/search-attributes';
import { TEST_NAMESPACES } from './helpers/namespaces';


declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    namespaceClaimDir: string;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logger = createLogger('warn');
  const config = loadConfig({ ...process.env, OPS_CONFIG: undefined });
  const cli = await findTemporalCli({
    cliPath: config.temporal.cliPath,
    cacheDir: config.cacheDir,
    allowBuild: false,
    allowDownload: false,
    logger,
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n\nTests never build or download it: run \`npx tsx scripts/provision-temporal.ts\` once.`);
  });
  const work = mkdtempSync(join(tmpdir(), 'ops-tests-'));
  const [env, bundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cli },
        searchAttributes: [...CUSTOM_SEARCH_ATTRIBUTES],
        extraArgs: [...TEST_NAMESPACES.flatMap((ns) => ['--namespace', ns]), '--log-level', 'error'],
      },
    }),
    bundleWorkflowCode({ workflowsPath: join(__dirname, 'workflows', 'index.ts'), logger: { ...quietBundlerLogger } }),
  ]);
  const bundlePath = join(work, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  const connection = await Connection.connect({ address: env.address });
  try {
    for (const ns of TEST_NAMESPACES) await ensureSearchAttributes(connection, ns, logger);
  } finally {
    await connection.close();
  }
  const claimDir = join(work, 'claims');
  project.provide('temporalAddress', env.address);
  project.provide('temporalCliPath', cli);
  project.provide('namespaceClaimDir', claimDir);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await env.teardown();
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
