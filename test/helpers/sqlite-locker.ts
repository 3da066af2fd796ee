/**
 * Another process that holds a SQLite store under BEGIN EXCLUSIVE (in WAL mode: every writer is
 * locked out, readers go on), as an operator's `sqlite3` shell or a stuck process would.
 * argv: the file and how long to hold it (ms). Prints "locked" once it holds the lock and
 * "released" when it lets go; it lets go early when its stdin closes.
 */
import BetterSqlite3 from 'better-sqlite3';

function main(): void {
  const [file, holdMs] = process.argv.slice(2);
  const ms = Number(holdMs);
  if (!file || !Number.isFinite(ms) || ms < 0 || ms > 120_000) throw new Error('usage: sqlite-locker.ts <sqlite file> <hold ms, at most 120000>');
  // Its own wait for the lock may block: this process runs nothing else.
  const db = new BetterSqlite3(file, { timeout: 10_000 });
  db.exec('begin exclusive');
  process.stdout.write('locked\n');
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    db.exec('rollback');
    db.close();
    process.stdout.write('released\n');
    process.exit(0);
  };
  setTimeout(release, ms);
  process.stdin.on('end', release);
  process.stdin.resume();
}

main();
