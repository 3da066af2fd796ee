import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { TEST_NAMESPACES } from './namespaces';

/** A namespace no other test file of this run uses (atomic mkdir across vitest processes). */
export function claimNamespace(): string {
  const dir = inject('namespaceClaimDir');
  mkdirSync(dir, { recursive: true });
  for (const ns of TEST_NAMESPACES) {
    try {
      mkdirSync(join(dir, ns));
      return ns;
    } catch {
      // taken by another test file
    }
  }
  throw new Error(`all ${TEST_NAMESPACES.length} test namespaces are taken; add more in test/global-setup.ts`);
}
