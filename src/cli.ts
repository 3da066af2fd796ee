/**
 * opsctl: the operator's command line over OpsClient. --json on every command. Arguments are
 * validated before anything is touched; a bad one exits 2 with a message naming it.
 */
import { Command, CommanderError, Option } from 'commander';
import { OpsClient, OpsClientError } from './client';
import { ConfigError, loadConfig, type Config } from './config';
import { InvalidControlsChange, type ControlsChange } from './controls-model';
import type { JobResult } from './definitions';
import {
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
import { formatControls, formatStatus, table } from './cli/format';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env?: Record<string, string | undefined>;
  connect?: (config: Config) => Promise<OpsClient>;
}

type Action = (client: OpsClient, out: Output) => Promise<number | void>;

interface Output {
  json: boolean;
  print(human: string, data: unknown): void;
  progress(text: string): void;
}

function who(opts: { actor?: string; reason?: string }, what: string, env: Record<string, string | undefined>) {
  return { actor: opts.actor ?? env.USER ?? 'opsctl', reason: requireReason(opts.reason, what) };
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  let action: Action | undefined;
  const program = new Command('opsctl')
    .description('Operate personal-ops: controls, jobs, schedules, dead letters, audit, incidents')
    .option('--json', 'print JSON instead of tables')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (text, write) => write(text) })
    .showHelpAfterError('(opsctl --help for usage)');

  const cmd = (parent: Command, name: string, description: string) =>
    parent.command(name).description(description).option('--json', 'print JSON instead of tables').exitOverride();

  cmd(program, 'status', 'controls, schedules, store and Temporal reachability').action(() => {
    action = async (c, out) => {
      const s = await c.status();
      out.print(formatStatus(s), s);
      return s.temporal.ok && s.store.ok ? 0 : 1;
    };
  });

  const controlsChange = (change: Omit<ControlsChange, 'actor' | 'reason'>, by: { actor: string; reason: string }): Action =>
    async (c, out) => {
      const state = await c.changeControls({ ...change, ...by });
      out.print(formatControls(state), state);
    };

  cmd(program, 'kill', 'turn the kill switch on or off')
    .argument('<state>', 'on | off')
    .option('--reason <why>', 'why (audited)')
    .option('--actor <who>', 'who (default $USER)')
    .action((state: string, opts) => {
      const on = parseOnOff(state, 'kill');
      action = controlsChange({ killSwitch: on }, who(opts, 'kill', env));
    });

  for (const [name, key] of [
    ['jobs', 'jobsEnabled'],
    ['comms', 'commsEnabled'],
    ['writes', 'writeEnabled'],
  ] as const) {
    cmd(program, name, `enable or disable ${name}`)
      .argument('<action>', 'enable | disable')
      .option('--reason <why>', 'why (audited)')
      .option('--actor <who>', 'who (default $USER)')
      .action((value: string, opts) => {
        const enabled = parseEnableDisable(value, name);
        action = controlsChange({ [key]: enabled }, who(opts, name, env));
      });
  }

  const quiet = cmd(program, 'quiet-hours', 'quiet hours: set the window, or turn them on or off');
  cmd(quiet, 'set', 'set the window')
    .requiredOption('--start <HH:MM>', 'start (local time)')
    .requiredOption('--end <HH:MM>', 'end (local time)')
    .option('--tz <zone>', 'IANA time zone, e.g. America/Chicago')
    .option('--reason <why>', 'why (audited)')
    .option('--actor <who>', 'who (default $USER)')
    .action((opts) => {
      const window = { start: parseClock(opts.start, '--start'), end: parseClock(opts.end, '--end'), ...(opts.tz ? { timeZone: opts.tz } : {}) };
      action = controlsChange({ quietHours: window }, who(opts, 'quiet-hours set', env));
    });
  for (const state of ['on', 'off'] as const) {
    cmd(quiet, state, `turn quiet hours ${state}`)
      .option('--reason <why>', 'why (audited)')
      .option('--actor <who>', 'who (default $USER)')
      .action((opts) => {
        action = controlsChange({ quietHours: { enabled: state === 'on' } }, who(opts, `quiet-hours ${state}`, env));
      });
  }

  cmd(program, 'run', 'start a job now')
    .argument('<job>', 'job name, e.g. health_monitor')
    .option('--wait', 'wait for the outcome (exit 1 if it failed)')
    .option('--param <key=value...>', 'job parameters')
    .action((jobArg: string, opts) => {
      const job = parseJob(jobArg);
      const params = parseParams(opts.param ?? []);
      action = async (c, out) => {
        const started = await c.startJob(job, Object.keys(params).length ? { params } : {});
        if (!opts.wait) return out.print(`started ${started.workflowId}`, started);
        return printOutcome(c, out, started.workflowId);
      };
    });

  const schedules = cmd(program, 'schedules', 'list, pause, resume or trigger schedules');
  cmd(schedules, 'list', 'every schedule with its state and next runs').action(() => {
    action = async (c, out) => {
      const rows = await c.listSchedules();
      out.print(
        table(rows.map((r) => ({ job: r.job, cadence: r.cadence, paused: r.paused, next: r.nextRunTimes.join(' '), last: r.lastRun?.outcome }))),
        rows,
      );
    };
  });
  for (const verb of ['pause', 'resume', 'trigger'] as const) {
    const sub = cmd(schedules, verb, `${verb} a job's schedule`).argument('<job>', 'job name');
    if (verb !== 'trigger') sub.option('--note <text>', 'note shown with the schedule');
    sub.action((jobArg: string, opts: { note?: string }) => {
      const job = parseJob(jobArg);
      action = async (c, out) => {
        if (verb === 'pause') await c.pauseSchedule(job, opts.note);
        else if (verb === 'resume') await c.resumeSchedule(job, opts.note);
        else await c.triggerSchedule(job);
        out.print(`${job}: ${verb === 'trigger' ? 'triggered' : `${verb}d`}`, { job, action: verb, ok: true });
      };
    });
  }

  const dlq = cmd(program, 'dlq', 'dead letters: failed runs kept for replay');
  cmd(dlq, 'list', 'dead letters, newest first')
    .addOption(new Option('--status <status>', 'filter').choices(['open', 'replaying', 'resolved', 'exhausted']))
    .action((opts) => {
      action = async (c, out) => {
        const rows = await c.listDeadLetters({ status: opts.status });
        out.print(
          table(rows.map((r) => ({ id: r.id, created: r.created_at, job: r.job, category: r.category, attempts: r.attempts, status: r.status, replays: r.replay_attempts, error: r.error }))),
          rows,
        );
      };
    });
  cmd(dlq, 'replay', 're-run a dead letter with its original input')
    .argument('<id>', 'dead letter id')
    .option('--wait', 'wait for the outcome')
    .action((idArg: string, opts) => {
      const id = parsePositiveInt(idArg, 'dead letter id');
      action = async (c, out) => {
        const started = await c.replayDeadLetter(id);
        if (!opts.wait) return out.print(`replaying dead letter ${id} as ${started.workflowId}`, started);
        return printOutcome(c, out, started.workflowId);
      };
    });

  cmd(program, 'audit', 'the audit trail, newest first')
    .option('--job <job>', 'only this job (or e.g. controls.update)')
    .option('--since <when>', '30m, 1h, 2d or an ISO date')
    .option('--limit <n>', 'rows', '50')
    .action((opts) => {
      const filter = {
        job: opts.job === undefined || opts.job.includes('.') ? opts.job : parseJob(opts.job),
        since: opts.since ? parseSince(opts.since) : undefined,
        limit: parsePositiveInt(opts.limit, '--limit'),
      };
      action = async (c, out) => {
        const rows = await c.audit(filter);
        out.print(
          table(rows.map((r) => ({ ts: r.ts, action: r.action, outcome: r.outcome ?? (r.success ? 'ok' : 'failed'), ms: r.duration_ms, by: r.actor, error: r.error ?? r.reason }))),
          rows,
        );
      };
    });

  cmd(program, 'incidents', 'incidents, newest first')
    .addOption(new Option('--status <status>', 'filter').choices(['open', 'resolved']))
    .option('--limit <n>', 'rows', '50')
    .action((opts) => {
      const limit = parsePositiveInt(opts.limit, '--limit');
      action = async (c, out) => {
        const rows = await c.incidents({ status: opts.status, limit });
        out.print(table(rows.map((r) => ({ id: r.id, created: r.created_at, severity: r.severity, type: r.type, status: r.status, title: r.title }))), rows);
      };
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : 2;
    }
    if (err instanceof UsageError) {
      io.stderr(`opsctl: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (!action) {
    io.stdout(program.helpInformation());
    return 0;
  }

  const json = Boolean(program.opts().json || argv.includes('--json'));
  const out: Output = {
    json,
    print: (human, data) => io.stdout(`${json ? JSON.stringify(data, null, 2) : human}\n`),
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
    client = await (io.connect ?? OpsClient.connect)(config);
  } catch (err) {
    io.stderr(`opsctl: cannot reach Temporal at ${config.temporal.address} (TEMPORAL_ADDRESS) or the store: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    return (await action(client, out)) ?? 0;
  } catch (err) {
    if (err instanceof InvalidControlsChange || err instanceof OpsClientError) {
      io.stderr(`opsctl: ${err.message}\n`);
      return 2;
    }
    io.stderr(`opsctl: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

async function printOutcome(client: OpsClient, out: Output, workflowId: string): Promise<number> {
  let last = '';
  const timer = setInterval(() => {
    void client.jobProgress(workflowId).then((p) => {
      const text = p ? `${p.step} ${JSON.stringify(p.detail)}` : '';
      if (text && text !== last) out.progress(`[${workflowId}] ${text}`);
      last = text || last;
    });
  }, 1000);
  let result: JobResult;
  try {
    result = await client.jobResult(workflowId);
  } finally {
    clearInterval(timer);
  }
  const { job, outcome, reason, error, durationMs, output } = result;
  const summary = { job, workflowId, outcome, reason, error, durationMs, output };
  out.print(`${job} ${outcome}${reason ? `: ${reason}` : ''}${error ? `: ${error}` : ''} (${durationMs} ms)`, summary);
  return outcome === 'failed' ? 1 : 0;
}

/** The process entry (bin/opsctl.js and `npm run opsctl`). */
export function main(): void {
  runCli(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`opsctl: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) main();
