/** The run-wide dev server (test/global-setup.ts), seen from one test file. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import { TEST_NAMESPACES } from './namespaces';

/**
 * A namespace that no other caller of this run gets, across the parallel vitest processes: the
 * first `tNN` whose directory this call manages to create (mkdir is atomic). Each call claims a
 * new one, so two systems in one file do not share task queues or the controls workflow.
 */
export function claimNamespace(): string {
  const dir = inject('namespaceClaimDir');
  mkdirSync(dir, { recursive: true });
  for (const namespace of TEST_NAMESPACES) {
    try {
      mkdirSync(join(dir, namespace));
      return namespace;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`all ${TEST_NAMESPACES.length} test namespaces are taken; add more in test/helpers/namespaces.ts`);
}

export function temporalAddress(): string {
  return inject('temporalAddress');
}

/** A client in `namespace` on the run's server; close `connection` in a finally / afterAll. */
export async function connectClient(namespace: string): Promise<{ connection: Connection; client: Client }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return { connection, client: new Client({ connection, namespace }) };
}
