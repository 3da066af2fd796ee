/**
 * opsctl memory: show a memory item with its history, and correct one. A correction supersedes
 * the current item (reason `correction`) with one holding the new value; nothing is deleted, and
 * it is audited with --actor and --reason like every operator change.
 */
import { Option, type Command } from 'commander';
import { MEMORY_VALUE_MAX_LENGTH } from '../client';
import { shown, UsageError } from './args';
import { formatMemoryItem, printable } from './format';
import { whoOf, withWho, type GroupContext, type WhoOptions } from './plan';

interface CorrectOptions extends WhoOptions {
  value?: string;
  valueJson?: string;
}

export function registerMemory(program: Command, { command, setPlan, env }: GroupContext): void {
  const memory = command(program, 'memory', 'memory items the syncs learned: show one, correct one');

  command(memory, 'show', 'a memory item: its current value and every earlier version')
    .argument('<key>', 'the item key (e.g. notion:<page id>)')
    .action((key: string) => {
      setPlan(async ({ client, out }) => {
        const item = await client.memoryItem(key);
        out.print(formatMemoryItem(item), item);
      });
    });

  withWho(command(memory, 'correct', 'correct a memory item: superseded by one holding the new value (audited; never a delete)'))
    .argument('<key>', 'the item key (opsctl memory show KEY)')
    .addOption(new Option('--value <text>', 'the corrected value, as text').conflicts('valueJson'))
    .addOption(new Option('--value-json <json>', 'the corrected value, as JSON (an object, a number, ...)'))
    .action((key: string, opts: CorrectOptions) => {
      const value = correctedValue(opts);
      const who = whoOf(opts, env, 'memory correct');
      setPlan(async ({ client, out }) => {
        const { changed, previous, current } = await client.correctMemory(key, value, who);
        const text = changed
          ? `memory ${printable(key, 300)} corrected by ${printable(who.actor, 100)}: v${previous.version} superseded by v${current.version} (${printable(who.reason)})`
          : `memory ${printable(key, 300)} already holds that value (v${current.version}); nothing changed`;
        out.print(text, { changed, previous, current });
      }, 'write');
    });
}

function correctedValue(opts: CorrectOptions): unknown {
  if (opts.value === undefined && opts.valueJson === undefined) throw new UsageError('memory correct needs --value "text" or --value-json \'{"a":1}\'');
  let value: unknown = opts.value;
  if (opts.value === undefined) {
    try {
      value = JSON.parse(opts.valueJson!);
    } catch (err) {
      throw new UsageError(`--value-json "${shown(opts.valueJson!)}" is not JSON: ${(err as Error).message}`);
    }
  }
  const length = JSON.stringify(value).length;
  if (length > MEMORY_VALUE_MAX_LENGTH) throw new UsageError(`the value is ${length} characters as JSON; at most ${MEMORY_VALUE_MAX_LENGTH}`);
  return value;
}
