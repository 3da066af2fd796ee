/**
 * opsctl: the operator's command line over OpsClient, with --json on every command.
 *
 * Parsing builds a plan and touches nothing; only a fully valid command loads the config and
 * connects. So a bad argument exits 2 having changed nothing.
 */
import { Command, CommanderError, Option, type CommandOptions } from 'commander';
import { OpsClient, OpsClientError, parseLabel, type StoreAccess } from './client';
import { ConfigError, loadConfig, type Config } from './config';
import { InvalidControlsChange, parseControlsChange, type ControlsChange } from './controls-model';
import type { JobResult } from './definitions';
import { JOB_NAMES } from './jobs';
import { NOTIFICATION_STATUSES, type NotificationStatus } from './store/schema';
import {
  checkArgv,
  collect,
  parseAddress,
  parseAuditAction,
  parseClock,
  parseEnableDisable,
  parseJob,
  parseOnOff,
  parseParams,
  parsePositiveInt,
  parseSince,
  requireReason,
  UsageError,
} from './cli/args';
import { formatDryRun } from './cli/dry-run';
import { describeConnectFailure, describeFailure } from './cli/errors';
import { formatControls, formatProgress, formatStatus, table } from './cli/format';
import { registerIncidents } from './cli/incidents';
import { registerMemory } from './cli/memory';
import { registerProposals } from './cli/proposals';
import { registerSchedules } from './cli/schedules';
import { actorOf, whoOf, withWho, type Action, type Context, type Output, type WhoOptions } from './cli/plan';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Defaults to process.env: TEMPORAL_ADDRESS, OPS_DATA_DIR, DATABASE_URL, USER... */
  env?: Record<string, string | undefined>;
  /** Defaults to OpsClient.connect; tests hand in their own. */
  connect?: (config: Config, options: { access: StoreAccess }) => Promise<OpsClient>;
}

/** A parsed command: what it does, and whether it may change the store (and so migrate it). */
interface Plan {
  action: Action;
  access: StoreAccess;
}

const EXIT_HELP = `
Exit codes:
  0  done (run --wait: the job succeeded or was skipped)
  1  the job failed, or Temporal or the store could not be reached
  2  bad arguments or configuration, or a request the state refuses (an incident or proposal id
     that does not exist, one already decided, an unknown memory key); nothing was changed

Every change (kill, jobs, comms, writes, quiet-hours, schedules pause/resume/trigger/set, allowlist
add/remove, incidents ack/resolve, proposals approve/reject, memory correct) takes --reason
(required) and --actor (default $USER), and writes an audit row.
Commands that only read never migrate the store: if its schema is behind, they say so; a command
that writes, \`opsctl migrate\` or \`npm start\` upgrades it.

Environment: TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE, OPS_DATA_DIR,
DATABASE_URL, OPS_CONFIG; the same as \`npm start\`.`;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  let plan: Plan | undefined;
  const program = buildProgram(io, env, (action, access = 'read') => {
    plan = { action, access };
  });

  try {
    checkArgv(argv);
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError || err instanceof InvalidControlsChange || err instanceof OpsClientError) {
      io.stderr(`opsctl: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // Every leaf command sets a plan; commander answers everything else (help) itself.
  if (!plan) return 0;

  const json = program.opts<{ json?: boolean }>().json === true;
  const out: Output = {
    json,
    print: (human, data) => {
      io.stdout(`${json ? JSON.stringify(data, null, 2) : human}\n`);
    },
    printRows: (rows, columns) => out.print(table(rows.map(columns)), rows),
    printJson: (data) => {
      io.stdout(`${JSON.stringify(data, null, 2)}\n`);
    },
    progress: (text) => {
      if (!json) io.stderr(`${text}\n`);
    },
  };

  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`opsctl: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  let client: OpsClient;
  try {
    client = await (io.connect ?? OpsClient.connect)(config, { access: plan.access });
  } catch (err) {
    // A TLS file that cannot be read is found only when connecting: still bad configuration.
    if (err instanceof ConfigError) {
      io.stderr(`opsctl: ${err.message}\n`);
      return 2;
    }
    io.stderr(`opsctl: ${describeConnectFailure(err, config)}\n`);
    return 1;
  }
  try {
    const code = await plan.action({ client, config, out });
    // A void-typed call can still hand back a value; only a number is an exit code.
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    const failure = describeFailure(err, config);
    io.stderr(`opsctl: ${failure.message}\n`);
    return failure.code;
  } finally {
    await client.close().catch((err: unknown) => {
      io.stderr(`opsctl: closing the connection failed: ${(err as Error).message}\n`);
    });
  }
}

function buildProgram(
  io: CliIo,
  env: Record<string, string | undefined>,
  setPlan: (action: Action, access?: StoreAccess) => void,
): Command {
  const program = new Command('opsctl')
    .description('Operate personal-ops: controls, jobs, schedules, dead letters, audit, incidents, notifications')
    // Only here, yet accepted after any subcommand: commander reads program options anywhere.
    .option('--json', 'print JSON instead of tables')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', EXIT_HELP);

  /** Every command shares the error handling: commander errors go to io, never process.exit. */
  const command = (parent: Command, name: string, description: string, options?: CommandOptions): Command =>
    parent
      .command(name, options)
      .description(description)
      .exitOverride()
      .configureOutput(output(io))
      .showHelpAfterError('(add --help for usage)');
  program.exitOverride().configureOutput(output(io)).showHelpAfterError('(opsctl --help for usage)');

  command(program, 'status', 'controls, every schedule, store and Temporal reachability').action(() => {
    setPlan(async ({ client, config, out }) => {
      const status = await client.status();
      out.print(formatStatus(status, { timeZone: config.timezone, now: new Date() }), status);
      return status.temporal.ok && status.store.ok ? 0 : 1;
    });
  });

  const changeControls = (change: Omit<ControlsChange, 'actor' | 'reason'>, opts: WhoOptions, what: string): Action => {
    // Validated now, before connecting, so a bad change exits 2 with nothing touched.
    const parsed = parseControlsChange({ ...change, actor: actorOf(opts, env), reason: requireReason(opts.reason, what) });
    return async ({ client, out }) => {
      const state = await client.changeControls(parsed);
      out.print(formatControls(state), state);
    };
  };
  const setChange = (change: Omit<ControlsChange, 'actor' | 'reason'>, opts: WhoOptions, what: string) =>
    setPlan(changeControls(change, opts, what), 'controls');

  withWho(command(program, 'kill', 'turn the kill switch on (every job stops) or off'))
    .argument('<on|off>', 'on or off')
    .action((state: string, opts: WhoOptions) => {
      setChange({ killSwitch: parseOnOff(state, 'kill') }, opts, 'kill');
    });

  for (const [name, key, what] of [
    ['jobs', 'jobsEnabled', 'every job (health_monitor still runs)'],
    ['comms', 'commsEnabled', 'messages, calls and notifications'],
    ['writes', 'writeEnabled', 'writes to external systems'],
  ] as const) {
    withWho(command(program, name, `enable or disable ${what}`))
      .argument('<enable|disable>', 'enable or disable')
      .action((value: string, opts: WhoOptions) => {
        setChange({ [key]: parseEnableDisable(value, name) }, opts, name);
      });
  }

  const quiet = command(program, 'quiet-hours', 'quiet hours: set the window, or turn them on or off');
  withWho(command(quiet, 'set', 'set the quiet-hours window (does not turn them on)'))
    .requiredOption('--start <HH:MM>', 'start, 24-hour local time of --tz')
    .requiredOption('--end <HH:MM>', 'end, 24-hour local time of --tz')
    .option('--tz <zone>', 'IANA time zone, e.g. America/Chicago (default: unchanged)')
    .action((opts: WhoOptions & { start: string; end: string; tz?: string }) => {
      const window = {
        start: parseClock(opts.start, '--start'),
        end: parseClock(opts.end, '--end'),
        ...(opts.tz === undefined ? {} : { timeZone: opts.tz }),
      };
      setChange({ quietHours: window }, opts, 'quiet-hours set');
    });
  for (const state of ['on', 'off'] as const) {
    withWho(command(quiet, state, `turn quiet hours ${state}`)).action((opts: WhoOptions) => {
      setChange({ quietHours: { enabled: state === 'on' } }, opts, `quiet-hours ${state}`);
    });
  }

  command(program, 'run', 'start a job now; prints JSON { job, workflowId }')
    .argument('<job>', `one of: ${JOB_NAMES.join(', ')}`)
    .option('--wait', 'wait for the outcome; exit 1 if the job failed')
    .option('--param <key=value>', "a parameter the job declares (repeatable); an unknown one is refused", collect, [])
    .option(
      '--dry-run',
      'simulate: reads are real, every store write, send, external write and Temporal change is listed instead of made; waits and prints that list (--json: the result)',
    )
    .action((jobArg: string, opts: { wait?: boolean; param: string[]; dryRun?: boolean }) => {
      const job = parseJob(jobArg);
      const params = parseParams(opts.param, job);
      const input = { ...(Object.keys(params).length ? { params } : {}), ...(opts.dryRun ? { dryRun: true } : {}) };
      setPlan(async (ctx) => {
        const started = await ctx.client.startJob(job, input);
        // A dry run's whole point is its report, so it always waits for it.
        if (opts.dryRun) return waitAndPrint(ctx, started.workflowId, ctx.out.json ? undefined : formatDryRun);
        if (opts.wait) return waitAndPrint(ctx, started.workflowId);
        ctx.out.printJson(started);
        return 0;
      }, 'write');
    });

  registerSchedules(program, { command, setPlan, env });

  const dlq = command(program, 'dlq', 'dead letters: runs whose retries ran out, kept for replay');
  command(dlq, 'list', 'dead letters, newest first')
    .addOption(new Option('--status <status>', 'only this status').choices(['open', 'replaying', 'resolved', 'exhausted']))
    .action((opts: { status?: string }) => {
      setPlan(async ({ client, out }) => {
        const rows = await client.listDeadLetters(opts.status ? { status: opts.status } : {});
        out.printRows(rows, (r) => ({
          id: r.id,
          created: r.created_at,
          job: r.job,
          category: r.category,
          attempts: r.attempts,
          status: r.status,
          replays: r.replay_attempts,
          error: r.last_replay_error ?? r.error,
        }));
      });
    });
  command(dlq, 'replay', 're-run a dead letter with its original input')
    .argument('<id>', 'dead letter id (dlq list)')
    .option('--wait', 'wait for the outcome; exit 1 if the job failed')
    .action((idArg: string, opts: { wait?: boolean }) => {
      const id = parsePositiveInt(idArg, 'dead letter id');
      setPlan(async (ctx) => {
        const started = await ctx.client.replayDeadLetter(id);
        if (opts.wait) return waitAndPrint(ctx, started.workflowId);
        ctx.out.printJson(started);
        return 0;
      }, 'write');
    });

  command(program, 'audit', 'the audit trail, newest first')
    .option('--job <job>', 'only this job, or another action such as controls.update')
    .option('--since <when>', '90s, 30m, 1h, 2d ago, or an ISO date (2026-11-23T08:00:00Z)')
    .option('--limit <n>', 'at most this many rows', '50')
    .action((opts: { job?: string; since?: string; limit: string }) => {
      const filter = {
        ...(opts.job === undefined ? {} : { job: parseAuditAction(opts.job) }),
        ...(opts.since === undefined ? {} : { since: parseSince(opts.since) }),
        limit: parsePositiveInt(opts.limit, '--limit'),
      };
      setPlan(async ({ client, out }) => {
        const rows = await client.audit(filter);
        out.printRows(rows, (r) => ({
          ts: r.ts,
          action: r.action,
          outcome: r.outcome ?? (r.success ? 'ok' : 'failed'),
          ms: r.duration_ms,
          by: r.actor,
          workflow: r.workflow_id,
          'error / reason': r.error ?? r.reason,
        }));
      });
    });

  registerIncidents(program, { command, setPlan, env });
  registerProposals(program, { command, setPlan, env });
  registerMemory(program, { command, setPlan, env });

  const allowlist = command(program, 'allowlist', 'the addresses messages may go to (everything else is refused)');
  command(allowlist, 'list', 'allowlisted addresses')
    .option('--all', 'include removed ones')
    .action((opts: { all?: boolean }) => {
      setPlan(async ({ client, out }) => {
        const rows = await client.allowlist({ includeRemoved: opts.all === true });
        out.printRows(rows, (r) => ({
          kind: r.kind,
          address: r.address,
          label: r.label,
          added: r.added_at,
          by: r.added_by,
          removed: r.removed_at,
        }));
      });
    });
  withWho(command(allowlist, 'add', 'allow messages to an address'))
    .argument('<address>', 'E.164 phone number (+15551234567) or numeric Telegram chat id')
    .option('--label <text>', 'who or what it is')
    .action((value: string, opts: WhoOptions & { label?: string }) => {
      const entry = { ...parseAddress(value), ...whoOf(opts, env, 'allowlist add'), ...(opts.label ? { label: parseLabel(opts.label) } : {}) };
      setPlan(async ({ client, out }) => {
        const { added, row } = await client.allowlistAdd(entry);
        const as = row.kind === 'phone' ? 'a phone number' : 'a Telegram chat id (a phone number needs + and its country code)';
        out.print(added ? `${row.address}: allowlisted as ${as}` : `${row.address}: already allowlisted since ${row.added_at}`, { added, entry: row });
      }, 'write');
    });
  withWho(command(allowlist, 'remove', 'stop messages to an address (the entry is kept as history)'))
    .argument('<address>', 'E.164 phone number or numeric Telegram chat id')
    .action((value: string, opts: WhoOptions) => {
      const entry = { ...parseAddress(value), ...whoOf(opts, env, 'allowlist remove') };
      setPlan(async ({ client, out }) => {
        const row = await client.allowlistRemove(entry);
        out.print(`${row.address}: removed from the allowlist`, { removed: row });
      }, 'write');
    });

  const digest = command(program, 'digest', 'the daily digest');
  command(digest, 'preview', "print today's digest without sending it").action(() => {
    setPlan(async ({ client, out }) => {
      const preview = await client.digestPreview();
      const note = preview.alreadySent ? `\n(today's digest was already sent: ${preview.alreadySent.status} at ${preview.alreadySent.at})` : '';
      out.print(`${preview.text}${note}`, preview);
    });
  });
  const call = command(program, 'call', 'the morning call');
  command(call, 'preview', "print today's morning-call script without calling").action(() => {
    setPlan(async ({ client, out }) => {
      const { script, alreadyMade } = await client.callPreview();
      const note = alreadyMade ? `\n(today's call was already made: ${alreadyMade.status} at ${alreadyMade.at})` : '';
      out.print(`${script.text}\n\n${script.words} words, about ${script.seconds} s spoken; ${script.dropped} sentence(s) dropped to fit${note}`, {
        script,
        alreadyMade,
      });
    });
  });

  command(program, 'notifications', 'alerts and messages, newest first: held, sent, suppressed, refused...')
    .addOption(new Option('--status <status>', 'only this status').choices([...NOTIFICATION_STATUSES]))
    .option('--limit <n>', 'at most this many rows', '50')
    .action((opts: { status?: NotificationStatus; limit: string }) => {
      const filter = { ...(opts.status ? { status: opts.status } : {}), limit: parsePositiveInt(opts.limit, '--limit') };
      setPlan(async ({ client, out }) => {
        const rows = await client.notifications(filter);
        out.printRows(rows, (r) => ({
          id: r.id,
          created: r.created_at,
          severity: r.severity,
          type: r.type,
          status: r.status,
          channel: r.channel,
          attempts: r.attempts,
          title: r.title,
          reason: r.status_reason,
        }));
      });
    });

  command(program, 'migrate', "upgrade the store's schema (npm start and every command that writes do it too)").action(() => {
    setPlan(async ({ client, out }) => {
      const applied = [...client.migrated];
      out.print(applied.length ? `store migrated: ${applied.join(', ')}` : 'store schema already up to date', { applied });
    }, 'write');
  });

  return program;
}

function output(io: CliIo) {
  return {
    writeOut: io.stdout,
    writeErr: io.stderr,
    outputError: (text: string, write: (s: string) => void) => write(text.replace(/^error: /, 'opsctl: ')),
  };
}

/** Waits for the run, showing its progress to a person, and prints the result as JSON (or as `human` says). */
async function waitAndPrint({ client, out }: Context, workflowId: string, human?: (result: JobResult) => string): Promise<number> {
  out.progress(`waiting for ${workflowId} (Ctrl-C stops waiting, not the job)`);
  const stop = out.json ? () => {} : watchProgress(client, workflowId, (text) => out.progress(`  ${text}`));
  let result: JobResult;
  try {
    result = await client.jobResult(workflowId);
  } finally {
    stop();
  }
  const { job, outcome, reason, error, durationMs, output: jobOutput } = result;
  if (human) out.print(human({ ...result, workflowId }), result);
  else out.printJson({ job, workflowId, outcome, reason, error, durationMs, output: jobOutput });
  return outcome === 'failed' ? 1 : 0;
}

/** Polls the run's progress query once a second and reports each change; returns stop. */
function watchProgress(client: OpsClient, workflowId: string, report: (text: string) => void): () => void {
  let stopped = false;
  let last = '';
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    // A run that has not started its first step, or has just ended, has no progress to show.
    const progress = await client.jobProgress(workflowId).catch(() => undefined);
    if (stopped) return;
    const text = progress ? formatProgress(progress) : '';
    if (text && text !== last) report(text);
    if (text) last = text;
    timer = setTimeout(() => void tick(), 1000);
  };
  timer = setTimeout(() => void tick(), 1000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** The process entry (bin/opsctl.js and `npm run opsctl`). */
export function main(): void {
  runCli(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  }).then(
    (code) => {
      process.exitCode = code;
      // Everything is closed by now; if some library still holds a handle, do not hang a shell.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`opsctl: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) main();
