/** A whole system for one test file: its own namespace on the run's dev server, the shared bundle. */
import { afterAll, beforeAll, inject } from 'vitest';
import { bootSystem, type SystemOptions, type TestSystem } from './boot';
import { claimNamespace } from './temporal';

export * from './boot';

export async function startSystem(options: SystemOptions = {}): Promise<TestSystem> {
  return bootSystem(
    { address: inject('temporalAddress'), namespace: claimNamespace(), workflowBundle: inject('workflowBundlePath') },
    options,
  );
}


/**
 * A system for the enclosing describe: started (then `setup` run on it) before its tests and
 * closed after them. Call it in the describe body; read the system inside a test or hook.
 */
export function systemPerSuite(options: SystemOptions = {}, setup?: (sys: TestSystem) => Promise<unknown>): () => TestSystem {
  let sys: TestSystem | undefined;
  beforeAll(async () => {
    sys = await startSystem(options);
    await setup?.(sys);
  });
  afterAll(async () => {
    await sys?.close();
  });
  return () => {
    if (!sys) throw new Error('the system is not started yet: read it inside a test or hook');
    return sys;
  };
}

/** systemPerSuite with ops-controls running before the tests. */
export function systemWithControls(options: SystemOptions = {}): () => TestSystem {
  return systemPerSuite(options, (sys) => sys.ops.ensureControls());
}
