/** Where the recorder writes: it only ever adds files to test/histories, never replaces one. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** `--tag <tag>`: the suffix of a new set of histories recorded beside the kept ones. */
export function parseTag(argv: readonly string[]): string | undefined {
  const at = argv.indexOf('--tag');
  if (at < 0) return undefined;
  const tag = argv[at + 1] ?? '';
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(tag)) throw new Error(`--tag must be 1 to 40 letters, digits, "-" or "_", got "${tag}"`);
  return tag;
}

/** `<name>.json` (or `<name>.<tag>.json`), or undefined when that file exists: it is kept as it is. */
export function historyFile(dir: string, name: string, tag: string | undefined): string | undefined {
  const file = join(dir, tag ? `${name}.${tag}.json` : `${name}.json`);
  return existsSync(file) ? undefined : file;
}
