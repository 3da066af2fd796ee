/** A whole system for one test file: its own namespace on the run's dev server, the shared bundle. */
import { inject } from 'vitest';
import { bootSystem, type SystemOptions, type TestSystem } from './boot';
import { claimNamespace } from './temporal';

export * from './boot';

export async function startSystem(options: SystemOptions = {}): Promise<TestSystem> {
  return bootSystem(
    { address: inject('temporalAddress'), namespace: claimNamespace(), workflowBundle: inject('workflowBundlePath') },
    options,
  );
}

