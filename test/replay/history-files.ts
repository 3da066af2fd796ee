/** Where the recorder writes: it only ever adds files to test/histories, never replaces one. */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

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

/** Where a recorder finds the history of one workflow: the CLI and the server it recorded on. */
export interface HistorySource {
  cli: string;
  address: string;
  namespace: string;
}

/**
 * Writes `workflowId`'s history as `<name>[.<tag>].json` in `dir`, in the CLI's JSON format, unless
 * that file exists (kept as it is). Returns the file written, or undefined.
 */
export async function saveHistory(source: HistorySource, dir: string, name: string, tag: string | undefined, workflowId: string): Promise<string | undefined> {
  const file = historyFile(dir, name, tag);
  if (!file) return undefined;
  const { stdout } = await promisify(execFile)(
    source.cli,
    ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', source.address, '--namespace', source.namespace],
    { maxBuffer: 64 << 20 },
  );
  writeFileSync(file, stdout);
  return file;
}
