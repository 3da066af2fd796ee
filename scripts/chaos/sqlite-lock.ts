/**
 * Holds a SQLite store file under an exclusive lock for a while, as another process (a backup,
 * a stuck migration) would: every writer elsewhere gets "database is locked" until it ends.
 * argv: the file, the milliseconds to hold. Prints "locked" once it holds the lock.
 */
import BetterSqlite3 from 'better-sqlite3';

const [file, holdMs] = process.argv.slice(2);
const ms = Number(holdMs);
if (!file || !Number.isInteger(ms) || ms < 0 || ms > 600_000) {
  process.stderr.write('usage: sqlite-lock.ts <sqlite file> <milliseconds to hold, at most 600000>\n');
  process.exit(2);
}
const db = new BetterSqlite3(file, { fileMustExist: true });
db.pragma('busy_timeout = 10000');
db.exec('begin exclusive');
process.stdout.write('locked\n');
setTimeout(() => {
  db.exec('commit');
  db.close();
  process.stdout.write('released\n');
}, ms);
