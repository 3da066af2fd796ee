/**
 * Every process the chaos run starts (dev server, workers, lock holders), so that an interrupted
 * run (Ctrl-C, a timeout's SIGTERM) leaves none behind.
 */
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, and SIGKILL if it has not exited after `graceMs`; resolves once it has exited. */
export async function stopGracefully(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** On SIGINT or SIGTERM: SIGKILL every tracked child, then exit 130; on any exit, kill them too. */
export function killChildrenOnInterrupt(): void {
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of children) child.kill('SIGKILL');
      process.stderr.write(`chaos: interrupted by ${signal}; ${children.size} child processes killed\n`);
      process.exit(130);
    });
  }
}
