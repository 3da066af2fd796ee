/**
 * How every bundle of our workflows is built, in one place: the worker that bundles at start, the
 * prebuilt bundle (npm run build), the tests, chaos, the benches and the replay test.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Workflow interceptors (dry runs: workflows/interceptors.ts). Every bundle of our workflows must
 * include them: a prebuilt bundle ignores the worker's own list.
 */
export const WORKFLOW_INTERCEPTOR_MODULES: readonly string[] = ourModules(__dirname).interceptors;

/**
 * Evaluated once per workflow thread and shared by every workflow in it (the SDK's
 * preloadModules), where every other module is evaluated afresh for each workflow started or
 * replayed. Only libraries that keep no state of their own belong here: the SDK freezes them.
 * zod's own start-up was the largest part of starting a workflow (bench:throughput).
 */
export const WORKFLOW_PRELOAD_MODULES: readonly string[] = ourModules(__dirname).preload;

/**
 * bundleWorkflowCode's options for our workflows from `workflowsPath`. `sourceDir` is where the
 * interceptor and preload modules are taken from: the TypeScript sources when the prebuilt bundle
 * is made from compiled scripts, so that every module in it is one copy.
 */
export function workflowBundleOptions(
  workflowsPath: string,
  sourceDir: string = __dirname,
): { workflowsPath: string; workflowInterceptorModules: string[]; preloadModules: string[] } {
  const { interceptors, preload } = ourModules(sourceDir);
  return { workflowsPath, workflowInterceptorModules: interceptors, preloadModules: preload };
}

function ourModules(sourceDir: string): { interceptors: string[]; preload: string[] } {
  return { interceptors: [moduleFile(sourceDir, 'workflows/interceptors')], preload: [moduleFile(sourceDir, 'workflows/preload')] };
}

/** A module of ours by path: compiled (.js) or TypeScript (tsx, vitest). */
function moduleFile(dir: string, relative: string): string {
  const base = join(dir, relative);
  return ['.js', '.ts'].map((ext) => base + ext).find((file) => existsSync(file)) ?? `${base}.ts`;
}
