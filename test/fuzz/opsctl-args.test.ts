/**
 * Property-based tests of opsctl's arguments (fast-check), run in-process as
 * test/cli/argument-errors.test.ts does. Every case ends in exit 0, or exit 2 with one clear
 * "opsctl: ..." line (commander may add its "(add --help for usage)" hint or the usage itself),
 * never a stack trace, a rejected promise or exit 1; and a refused case changes nothing.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { runCli } from '../../src/cli';
import { configSchema } from '../../src/config';
import { CONTROLS_WORKFLOW_ID } from '../../src/definitions';
import { JOB_NAMES } from '../../src/jobs';
import { createLogger } from '../../src/logger';
import { OPS_TABLES } from '../../src/store';
import { opsctlFor } from '../helpers/opsctl';
import { startSystem, type TestSystem } from '../helpers/system';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Lines commander adds after its own one-line error. */
const HINTS = [/^\(add --help for usage\)$/, /^\(opsctl --help for usage\)$/, /^\(Did you mean [^\n]+\?\)$/];

/** The shape of every refusal: one "opsctl:" line (plus hints, or the usage), no stack, nothing on stdout. */
function expectCleanRefusal(argv: string[], ran: Ran): void {
  const context = JSON.stringify({ argv: argv.map((a) => a.slice(0, 60)), stderr: ran.stderr.slice(0, 500) });
  expect(ran.stdout, context).toBe('');
  expect(ran.stderr, context).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  const lines = ran.stderr.replace(/\n$/, '').split('\n');
  if (lines[0]!.startsWith('Usage: opsctl')) return; // a group without its subcommand shows its usage
  expect(lines[0], context).toMatch(/^opsctl: \S/);
  for (const line of lines.slice(1)) expect(HINTS.some((hint) => hint.test(line)), context).toBe(true);
}

// ---- what a person (or a script gone wrong) may type ----

const hostileText = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', ' ', '-', '--', '---x', '-h', '=', 'a=b', '\n', 'a\nb', '\u001b[31m', '\u202eevil', '\u0085', '%s', '${HOME}', '__proto__', 'constructor'),
  fc.constantFrom('99999999999999999999', '-1', '0', '1.5', '1e3', 'NaN', 'Infinity', '0x10', '٣'),
  fc.constantFrom('x'.repeat(501), 'y'.repeat(10_001)),
);
const reason = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('maintenance', 'fuzz test', 'r') }, { weight: 2, arbitrary: hostileText });
const actor = fc.oneof(fc.constantFrom('ana', 'ops-bot'), hostileText, fc.constant('a'.repeat(101)));
const job = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...JOB_NAMES) }, { weight: 1, arbitrary: hostileText });
const since = fc.oneof(
  fc.constantFrom('90s', '30m', '1h', '2d', '36500d', '36501d', '99999999999999999999d', '2026-11-01', '2026-02-30', '2026-11-01T08:00:00Z', '0m'),
  fc.tuple(fc.nat(), fc.constantFrom('s', 'm', 'h', 'd', 'w', '')).map(([n, u]) => `${n}${u}`),
  fc.bigInt({ min: 0n, max: 10n ** 30n }).map((n) => `${n}d`),
  hostileText,
);
const count = fc.oneof(fc.constantFrom('1', '50', '1000', '0', '-3', 'ten', '99999999999999999999', '1.5'), fc.nat().map(String), hostileText);
const address = fc.oneof(fc.constantFrom('+15551234567', '+15550001111', '123456789', '-100123', '+1', '5551234567', 'me@example.com'), hostileText);
const clock = fc.oneof(fc.constantFrom('22:00', '07:00', '00:00', '23:59', '24:00', '7:00', '22:60'), hostileText);
const param = fc.oneof(fc.constantFrom('limit=5', 'a=1', 'novalue', '=v', '__proto__=1', 'constructor=x', 'full=true'), hostileText);

/** Optional flags: each either absent, or the flag and its value. */
const flag = (name: string, value: fc.Arbitrary<string>) => fc.option(value.map((v) => [name, v]), { nil: undefined, freq: 2 });
const who = fc.tuple(flag('--reason', reason), flag('--actor', actor)).map(([r, a]) => [...(r ?? []), ...(a ?? [])]);
const json = fc.boolean().map((on) => (on ? ['--json'] : []));

/** One command of each group, with arguments that are often right and often not. */
const commandArgs = fc.oneof(
  fc.constant(['status']),
  fc.tuple(fc.constantFrom('on', 'off', 'maybe', 'On'), who).map(([s, w]) => ['kill', s, ...w]),
  fc.tuple(fc.constantFrom('jobs', 'comms', 'writes'), fc.constantFrom('enable', 'disable', 'pause'), who).map(([c, v, w]) => [c, v, ...w]),
  fc.tuple(flag('--start', clock), flag('--end', clock), flag('--tz', fc.constantFrom('UTC', 'America/Chicago', 'Mars/Base')), who).map(([s, e, tz, w]) => [
    'quiet-hours',
    'set',
    ...(s ?? []),
    ...(e ?? []),
    ...(tz ?? []),
    ...w,
  ]),
  fc.tuple(fc.constantFrom('on', 'off', 'toggle'), who).map(([s, w]) => ['quiet-hours', s, ...w]),
  // No --wait: a run's own outcome is not what is fuzzed here.
  fc.tuple(fc.constantFrom('health_monitor', 'run_watchers', 'nightly', 'HEALTH_MONITOR'), fc.array(param, { maxLength: 3 })).map(([j, ps]) => [
    'run',
    j,
    ...ps.flatMap((p) => ['--param', p]),
  ]),
  fc.constant(['schedules', 'list']),
  fc.tuple(fc.constantFrom('pause', 'resume', 'trigger', 'explode'), job, who).map(([verb, j, w]) => ['schedules', verb, j, ...w]),
  fc.tuple(flag('--status', fc.constantFrom('open', 'resolved', 'lost'))).map(([s]) => ['dlq', 'list', ...(s ?? [])]),
  count.map((id) => ['dlq', 'replay', id]),
  fc.tuple(flag('--job', fc.oneof(job, fc.constantFrom('controls.update', 'schedules.pause', 'a.b'))), flag('--since', since), flag('--limit', count)).map(
    ([j, s, l]) => ['audit', ...(j ?? []), ...(s ?? []), ...(l ?? [])],
  ),
  fc.tuple(flag('--status', fc.constantFrom('open', 'resolved', 'closed')), flag('--limit', count)).map(([s, l]) => ['incidents', ...(s ?? []), ...(l ?? [])]),
  fc.tuple(flag('--status', fc.constantFrom('held', 'sent', 'lost')), flag('--limit', count)).map(([s, l]) => ['notifications', ...(s ?? []), ...(l ?? [])]),
  fc.boolean().map((all) => ['allowlist', 'list', ...(all ? ['--all'] : [])]),
  fc.tuple(address, flag('--label', hostileText), who).map(([a, l, w]) => ['allowlist', 'add', a, ...(l ?? []), ...w]),
  fc.tuple(address, who).map(([a, w]) => ['allowlist', 'remove', a, ...w]),
  fc.constant(['migrate']),
);

/** Sometimes a stray word or option, somewhere. */
const argv = fc
  .tuple(commandArgs, json, fc.option(fc.tuple(fc.nat(), fc.oneof(hostileText, fc.constantFrom('--verbose', '--wait', '--note', 'extra'))), { freq: 4, nil: undefined }))
  .map(([args, j, stray]) => {
    const all = [...args, ...j];
    if (stray) all.splice(stray[0] % (all.length + 1), 0, stray[1]);
    return all;
  });

/** Anything at all: known words and options in any order, and hostile text. */
const WORDS = ['status', 'kill', 'jobs', 'run', 'schedules', 'pause', 'dlq', 'replay', 'audit', 'allowlist', 'add', 'on', 'off', 'help', '--help', '--json', '--reason', '--actor', '--since', '--limit', '--param', '--status', '--wait', 'health_monitor'];
const anyArgv = fc.array(fc.oneof(fc.constantFrom(...WORDS), hostileText), { maxLength: 8 });

describe('opsctl arguments, fuzzed, before anything is touched', () => {
  it('anything at all: exit 0 (help) or a clean exit 2, or it is a valid command that goes on to connect', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyArgv, argv), async (args) => {
        let stdout = '';
        let stderr = '';
        let connected = false;
        const code = await runCli(args, {
          stdout: (s) => (stdout += s),
          stderr: (s) => (stderr += s),
          env: { USER: 'fuzzer', OPS_CONFIG: undefined },
          connect: async () => {
            connected = true;
            throw new Error('not connecting in this test');
          },
        });
        if (connected) return; // a valid command: the next property runs those for real
        if (code === 0) {
          expect(stderr).toBe('');
          expect(stdout).toMatch(/Usage: opsctl/);
          return;
        }
        expect({ args, code }).toEqual({ args, code: 2 });
        expectCleanRefusal(args, { code, stdout, stderr });
      }),
      { numRuns: 1500 },
    );
  }, 120_000);
});

describe('opsctl arguments, fuzzed, against a running system', () => {
  let sys: TestSystem;
  let opsctl: ReturnType<typeof opsctlFor>;

  beforeAll(async () => {
    // Every schedule a week apart, so none fires by itself while the store is being compared.
    const config = { jobs: Object.fromEntries(JOB_NAMES.map((j) => [j, { every: '168h' }])) };
    sys = await startSystem({ config });
    expect(configSchema.safeParse(sys.config).success).toBe(true);
    await sys.ops.reconcileSchedules(createLogger('silent'));
    opsctl = opsctlFor(sys);
  });
  afterAll(async () => {
    await sys?.close();
  });

  /** Every row of every table (counts and the newest id), the controls mirror, and the live controls. */
  async function snapshot(withSchedules: boolean): Promise<unknown> {
    const tables: Record<string, unknown> = {};
    for (const table of OPS_TABLES) {
      const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(sys.store.db);
      tables[table] = Number(rows[0]?.n);
    }
    const mirror = await sys.store.db.selectFrom('agent_controls').selectAll().execute();
    const allowlist = await sys.store.db.selectFrom('comm_allowlist').selectAll().execute();
    const controls = await sys.ops.getControls();
    const schedules = withSchedules ? (await sys.ops.listSchedules()).map((s) => [s.job, s.paused, s.note ?? null]) : null;
    return { tables, mirror, allowlist, controls, schedules };
  }

  /**
   * An accepted command that started work: wait for it, and for every workflow it started in turn
   * (an alert's delivery, a direct alert), so their rows do not land in the next case.
   */
  async function settle(args: string[], ran: Ran, before: Map<string, number>): Promise<void> {
    await settleStarted(args, ran, before);
    await expect
      .poll(
        async () => {
          const running: string[] = [];
          for await (const wf of sys.client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
            if (wf.workflowId !== CONTROLS_WORKFLOW_ID) running.push(wf.workflowId);
          }
          return running;
        },
        { timeout: 30_000, interval: 100 },
      )
      .toEqual([]);
  }

  async function settleStarted(args: string[], ran: Ran, before: Map<string, number>): Promise<void> {
    if (args[0] === 'run') {
      const { workflowId } = JSON.parse(ran.stdout) as { workflowId: string };
      await sys.ops.jobResult(workflowId).catch(() => undefined);
    }
    if (args[0] === 'schedules' && args[1] === 'trigger') {
      const name = args[2]!;
      await expect
        .poll(
          async () => {
            const d = await sys.client.schedule.getHandle(name).describe();
            const acted = d.info.numActionsTaken + d.info.numActionsSkippedOverlap > (before.get(name) ?? 0);
            return acted && d.info.runningActions.length === 0;
          },
          { timeout: 30_000, interval: 100 },
        )
        .toBe(true);
    }
  }

  it('each case: exit 0, or a clean exit 2 that changed nothing in the store, the controls or the schedules', async () => {
    const outcomes = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(argv, async (args) => {
        // The human output of run is JSON only with --json; settle() reads the workflow id from it.
        const full = args[0] === 'run' && !args.includes('--json') ? [...args, '--json'] : args;
        const touchesSchedules = full[0] === 'schedules' && ['pause', 'resume', 'trigger'].includes(full[1]!);
        const actions = new Map<string, number>();
        if (touchesSchedules && full[1] === 'trigger' && JOB_NAMES.includes(full[2] as never)) {
          const d = await sys.client.schedule.getHandle(full[2]!).describe();
          actions.set(full[2]!, d.info.numActionsTaken + d.info.numActionsSkippedOverlap);
        }
        const before = await snapshot(touchesSchedules);
        const ran = await opsctl(...full);
        if (ran.code === 0) {
          outcomes.accepted++;
          await settle(full, ran, actions);
          return;
        }
        outcomes.refused++;
        expect({ args: full.map((a) => a.slice(0, 60)), code: ran.code, stderr: ran.stderr.slice(0, 300) }).toMatchObject({ code: 2 });
        expectCleanRefusal(full, ran);
        expect(await snapshot(touchesSchedules)).toEqual(before);
      }),
      { numRuns: 200 },
    );
    // The generator reaches both ends.
    expect(outcomes.accepted).toBeGreaterThan(10);
    expect(outcomes.refused).toBeGreaterThan(20);
  }, 300_000);
});
