/** Holds a SQLite file under BEGIN EXCLUSIVE from another process (sqlite-locker.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const TSX = join(__dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');
const LOCKER = join(__dirname, 'sqlite-locker.ts');

export interface HeldLock {
  /** Resolves when the other process has let go (at the end of holdMs, or after release()). */
  released: Promise<void>;
  /** Lets go now. */
  release(): Promise<void>;
}

/** Resolves once the other process holds the lock; it lets go by itself after holdMs. */
export async function holdSqliteLock(file: string, holdMs: number): Promise<HeldLock> {
  const child: ChildProcess = spawn(process.execPath, [TSX, LOCKER, file, String(holdMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = once(child, 'exit').then(() => undefined);
  const first = await lines.next();
  if (first.done || first.value !== 'locked') throw new Error(`the SQLite locker did not take the lock (said ${JSON.stringify(first.value)})`);
  return {
    released: exited,
    async release() {
      child.stdin?.end();
      await exited;
    },
  };
}
