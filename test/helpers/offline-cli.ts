import { expect } from 'vitest';
import { runCli } from '../../src/cli';
import type { StoreAccess } from '../../src/client';

/**
 * opsctl in process with a connect that always fails: what it prints and returns shows everything
 * it decided before connecting, and `connected` proves whether it tried to touch anything.
 */
export async function offlineCli(args: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  let connected = false;
  let access: StoreAccess | undefined;
  const code = await runCli(args, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    // OPS_CONFIG unset so a developer's own config file cannot change the outcome.
    env: { USER: 'tester', OPS_CONFIG: undefined, ...env },
    connect: async (_config, options) => {
      connected = true;
      access = options.access;
      throw new Error('Failed to connect before the deadline');
    },
  });
  return { code, stdout, stderr, connected, access };
}

/** Each case exits 2 with its message on stderr, nothing on stdout, and never connects. */
export async function expectRefusedOffline(args: string[], message: RegExp): Promise<void> {
  const result = await offlineCli(args);
  expect(result.stderr).toMatch(message);
  expect(result.code).toBe(2);
  expect(result.connected).toBe(false);
  expect(result.stdout).toBe('');
}
