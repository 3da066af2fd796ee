/**
 * One process contending for a SQLite store file, driven by sqlite-processes.test.ts over stdin:
 * argv: the file and how many incident keys to race for. Each line "<task> <startAtMs>" runs the task at that moment (so that all contenders hit the
 * file at once) and answers with one JSON line, {"ok": result} or {"error": message}.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { claimDueDeadLetters, migrateToLatest, openStore, raiseIncident, type Store } from '../../src/store';

const NOW = new Date('2026-02-01T10:00:00.000Z');

const tasks: Record<string, (store: Store, keys: number) => Promise<unknown>> = {
  migrate: (store) => migrateToLatest(store),
  /** Every key is a fresh race: who creates its incident? */
  async raise(store, keys) {
    const created: number[] = [];
    for (let key = 0; key < keys; key++) {
      const result = await raiseIncident(store.db, {
        type: 'race',
        severity: 'INFO',
        title: `key ${key}`,
        body: '',
        dedupeKey: `race-${key}`,
        dedupeWindowMs: 3600_000,
        now: NOW,
      });
      if (result.created) created.push(key);
    }
    return created;
  },
  async claim(store) {
    const claimed: number[] = [];
    for (;;) {
      const batch = await claimDueDeadLetters(store.db, { category: 'transient', limit: 1, maxAttempts: 5, now: NOW });
      if (batch.length === 0) return claimed;
      claimed.push(...batch.map((l) => l.id));
    }
  },
};

async function main(): Promise<void> {
  const [file, keys] = process.argv.slice(2);
  if (!file || !keys) throw new Error('usage: sqlite-contender.ts <sqlite file> <incident keys to race for>');
  const store = await openStore({ sqlitePath: file });
  try {
    process.stdout.write('{"ok":"ready"}\n');
    for await (const line of createInterface({ input: process.stdin })) {
      const [task, startAt] = line.split(' ');
      const work = tasks[task ?? ''];
      await sleep(Math.max(0, Number(startAt) - Date.now()));
      const answer = work ? await work(store, Number(keys)).then((ok) => ({ ok }), (err: Error) => ({ error: err.message })) : { error: `unknown task ${task}` };
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    }
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
