/**
 * What every opsctl command group shares: a parsed command is a Plan (what it will do once
 * connected), built from arguments checked before anything is touched.
 */
import type { Command, CommandOptions } from 'commander';
import { parseWho, type OpsClient, type StoreAccess, type Who } from '../client';
import type { Config } from '../config';
import { requireReason } from './args';

export interface Context {
  client: OpsClient;
  config: Config;
  out: Output;
}

/** What a parsed command will do once connected; resolves to the exit code, or nothing for 0. */
export type Action = (ctx: Context) => Promise<number | void>;

export interface Output {
  json: boolean;
  /** The human text, or with --json the data. */
  print(human: string, data: unknown): void;
  /** Rows as a table, or with --json the rows themselves. */
  printRows<T>(rows: T[], columns: (row: T) => Record<string, unknown>): void;
  /** JSON whatever the mode (run prints its result as JSON for scripts either way). */
  printJson(data: unknown): void;
  /** Progress for a person: stderr, and silent with --json so stdout/stderr stay parseable. */
  progress(text: string): void;
}

/** What a command group needs from the program to add its commands. */
export interface GroupContext {
  /** A subcommand of `parent` with opsctl's shared error handling (never process.exit). */
  command(parent: Command, name: string, description: string, options?: CommandOptions): Command;
  /** Called by a leaf command's action with what it will do and the store access it needs. */
  setPlan(action: Action, access?: StoreAccess): void;
  env: Record<string, string | undefined>;
}

export interface WhoOptions {
  reason?: string;
  actor?: string;
}

export function withWho(cmd: Command): Command {
  return cmd.option('--reason <why>', 'why (required; audited)').option('--actor <who>', 'who (default $USER)');
}

export function actorOf(opts: WhoOptions, env: Record<string, string | undefined>): string {
  return opts.actor ?? (env.USER || 'opsctl');
}

/** --actor and --reason of an audited action, checked now so a bad one exits 2 touching nothing. */
export function whoOf(opts: WhoOptions, env: Record<string, string | undefined>, what: string): Who {
  return parseWho({ actor: actorOf(opts, env), reason: requireReason(opts.reason, what) });
}
