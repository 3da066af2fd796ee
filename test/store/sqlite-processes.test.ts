import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDeadLetter, listIncidents, migrateToLatest, type Store } from '../../src/store';
import { ALL_MIGRATIONS, openTestStore, type TestStore } from './fixtures';

const TSX = join(__dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');
const CONTENDER = join(__dirname, 'sqlite-contender.ts');
const PROCESSES = 4;
const KEYS = 100;

interface Contender {
  child: ChildProcessWithoutNullStreams;
  answers: AsyncIterator<string>;
}

async function answer(contender: Contender): Promise<unknown> {
  const next = await contender.answers.next();
  if (next.done) throw new Error('a contender exited early');
  const parsed = JSON.parse(next.value) as { ok?: unknown; error?: string };
  if (parsed.error !== undefined) throw new Error(`contender failed: ${parsed.error}`);
  return parsed.ok;
}

// Several processes on one SQLite file: a worker and opsctl, or two workers on one host.
describe('sqlite shared by several processes', () => {
  let handle: TestStore;
  let store: Store;
  let contenders: Contender[] = [];

  /** Every contender runs `task` at the same moment; returns what each one answered. */
  async function contend<T>(task: 'migrate' | 'raise' | 'claim'): Promise<T[]> {
    const startAt = Date.now() + 200;
    for (const c of contenders) c.child.stdin.write(`${task} ${startAt}\n`);
    return (await Promise.all(contenders.map(answer))) as T[];
  }

  beforeAll(async () => {
    handle = await openTestStore('sqlite');
    store = handle.store;
    contenders = Array.from({ length: PROCESSES }, () => {
      const child = spawn(process.execPath, [TSX, CONTENDER, handle.location, String(KEYS)], { stdio: 'pipe' });
      child.stderr.pipe(process.stderr);
      return { child, answers: createInterface({ input: child.stdout })[Symbol.asyncIterator]() };
    });
    await Promise.all(contenders.map(answer));
  });
  afterAll(async () => {
    await Promise.all(
      contenders.map(async ({ child }) => {
        if (child.exitCode !== null) return;
        child.stdin.end();
        await once(child, 'exit');
      }),
    );
    await handle.dispose();
  });

  it('migrate together: one applies, the others find nothing to do', async () => {
    const applied = await contend<string[]>('migrate');
    expect(applied.flat()).toEqual(ALL_MIGRATIONS);
    expect(await migrateToLatest(store)).toEqual([]);
  });

  it('race to raise incidents with the same dedupe keys: one per key, and nobody gets SQLITE_BUSY', async () => {
    const created = (await contend<number[]>('raise')).flat();
    expect([...created].sort((a, b) => a - b)).toEqual(Array.from({ length: KEYS }, (_, k) => k));
    expect(await listIncidents(store.db, { limit: 1000 })).toHaveLength(KEYS);
  });

  it('claim dead letters together: every letter claimed exactly once', async () => {
    const planted: number[] = [];
    for (let i = 0; i < 100; i++) {
      planted.push(
        await insertDeadLetter(store.db, { created_at: '2026-01-01T00:00:00.000Z', job: 'sync_n8n', workflow_id: `w${i}`, input: '{}', error: 'e', category: 'transient', attempts: 5 }),
      );
    }
    const claimed = (await contend<number[]>('claim')).flat();
    expect([...claimed].sort((a, b) => a - b)).toEqual(planted);
  });
});
