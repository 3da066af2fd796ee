/**
 * Prebuilds the workflow bundle for production (`npm run build`), as in Temporal's `production`
 * sample: the worker loads it through OPS_WORKFLOW_BUNDLE instead of running webpack at every
 * start, and every worker replica runs byte-identical workflow code.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bundleWorkflowCode, type Logger } from '@temporalio/worker';
import { workflowBundleOptions } from '../src/workflow-bundle';

/** Relative to the repository root; docker-compose.yml's OPS_WORKFLOW_BUNDLE points at it in the image. */
export const WORKFLOW_BUNDLE_FILE = 'dist/workflow-bundle.js';
export const WORKFLOWS_ENTRY = 'src/workflows/index.ts';

/** The repository root, whether this runs from scripts/ (tsx) or compiled from dist/scripts/. */
export function repoRoot(from: string = __dirname): string {
  let dir = resolve(from);
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export async function bundleWorkflows(outFile: string, root: string = repoRoot(), logger?: Logger): Promise<number> {
  const { code } = await bundleWorkflowCode({
    // With the worker's interceptors and preload (ignored for a prebuilt bundle, so bundled here).
    ...workflowBundleOptions(join(root, WORKFLOWS_ENTRY), join(root, 'src')),
    logger,
  });
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, code);
  return Buffer.byteLength(code);
}

if (require.main === module) {
  const root = repoRoot();
  const outFile = join(root, WORKFLOW_BUNDLE_FILE);
  bundleWorkflows(outFile, root).then(
    (bytes) => process.stdout.write(`workflow bundle: ${outFile} (${(bytes / 1024).toFixed(0)} KiB)\n`),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
