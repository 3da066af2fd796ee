/**
 * opsctl schedules: list, pause, resume, trigger, set (a job's cadence at run time) and unset. Every
 * change takes --reason and --actor and is audited (schedules.<verb>).
 */
import type { Command } from 'commander';
import type { Cadence } from '../schedules/table';
import { intervalProblem } from '../schedules/table';
import { parseClock, parseJob, UsageError } from './args';
import { formatSchedules, printable } from './format';
import type { Who } from '../client';
import type { JobName } from '../jobs';
import { whoOf, withWho, type Action, type GroupContext, type WhoOptions } from './plan';

interface SetOptions extends WhoOptions {
  every?: string;
  at?: string;
  default?: boolean;
}

/** Exactly one of --every, --at, --default; the cadence checked as a configured one is. */
export function parseCadenceOptions(opts: SetOptions): Cadence | 'default' {
  const given = (['every', 'at', 'default'] as const).filter((key) => opts[key] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0
        ? 'schedules set needs one of --every <duration> (e.g. 15m), --at <HH:MM>, or --default'
        : `schedules set takes one of --every, --at or --default, not ${given.map((k) => `--${k}`).join(' and ')}`,
    );
  }
  if (opts.default) return 'default';
  if (opts.every !== undefined) {
    const problem = intervalProblem(opts.every);
    if (problem) throw new UsageError(`--every: ${problem}`);
    return { every: opts.every };
  }
  return { at: parseClock(opts.at!, '--at') };
}

export function registerSchedules(program: Command, { command, setPlan, env }: GroupContext): void {
  const schedules = command(program, 'schedules', 'list the job schedules; pause, resume, trigger one, or set its cadence');
  command(schedules, 'list', 'every schedule: cadence in effect and its source, paused, next runs, last outcome').action(() => {
    setPlan(async ({ client, config, out }) => {
      const rows = await client.listSchedules();
      out.print(formatSchedules(rows, { timeZone: config.timezone, now: new Date() }), rows);
    });
  });

  for (const verb of ['pause', 'resume', 'trigger'] as const) {
    const what = `schedules ${verb}`;
    const description =
      verb === 'trigger' ? "run a job's schedule now (audited)" : `${verb} a job's schedule (audited; the reason is kept as its note)`;
    withWho(command(schedules, verb, description))
      .argument('<job>', 'job name')
      .action((jobArg: string, opts: WhoOptions) => {
        const job = parseJob(jobArg);
        const who = whoOf(opts, env, what);
        setPlan(async ({ client, out }) => {
          if (verb === 'pause') await client.pauseSchedule(job, who);
          else if (verb === 'resume') await client.resumeSchedule(job, who);
          else await client.triggerSchedule(job, who);
          const done = { pause: 'paused', resume: 'resumed', trigger: 'triggered' }[verb];
          out.print(`${job}: schedule ${done} by ${who.actor}: ${who.reason}`, { job, action: verb, ok: true, ...who });
        }, 'write');
      });
  }

  withWho(
    command(
      schedules,
      'set',
      "change a job's cadence now, durably, until --default or until the config changes that job's cadence (audited)",
    ),
  )
    .argument('<job>', 'job name')
    .option('--every <duration>', 'run at this interval: 10s to 168h, e.g. 30s, 15m, 2h')
    .option('--at <HH:MM>', 'run daily at this 24-hour time, in the configured time zone')
    .option('--default', 'go back to the configured cadence (config, else the job catalogue)')
    .action((jobArg: string, opts: SetOptions) => {
      const job = parseJob(jobArg);
      const cadence = parseCadenceOptions(opts);
      const who = whoOf(opts, env, 'schedules set');
      setPlan(changeCadence(job, cadence, who), 'write');
    });

  withWho(command(schedules, 'unset', "back to the job's configured cadence: the same as set JOB --default (audited)"))
    .argument('<job>', 'job name')
    .action((jobArg: string, opts: WhoOptions) => {
      const job = parseJob(jobArg);
      const who = whoOf(opts, env, 'schedules unset');
      setPlan(changeCadence(job, 'default', who), 'write');
    });
}

function changeCadence(job: JobName, cadence: Cadence | 'default', who: Who): Action {
  return async ({ client, out }) => {
    const status = cadence === 'default' ? await client.clearScheduleCadence(job, who) : await client.setScheduleCadence(job, cadence, who);
    const human =
      cadence === 'default'
        ? `${job}: back to its ${status.source} cadence, ${status.cadence}`
        : `${job}: now ${status.cadence} (run-time override by ${printable(who.actor, 100)}; configured: ${status.configured})`;
    out.print(human, status);
  };
}
