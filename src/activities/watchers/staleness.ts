/**
 * Staleness: a job that is scheduled and not paused, but has not succeeded within factor x its
 * cadence plus grace, gets a WARN naming what its runs did instead ("skipped 6 times: Quiet
 * hours"), or that it did not run at all. Each run can end "fine" (skipped by design, say) while
 * the job's purpose is never served; no other watcher sees that.
 *
 * The clock of a job starts when its schedule was created (a job never run since the system
 * started is not stale at once), and again when a person resumes its schedule.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { durationMs, resolveSchedules, type ResolvedSchedule } from '../../schedules/table';
import type { Database } from '../../store/schema';
import type { Watcher, WatcherFinding } from './types';

export const STALENESS_INCIDENT = 'stale_job';

const DAY_MS = 24 * 3_600_000;
/**
 * DescribeSchedule asks the schedule's own workflow; just after a create, or on a loaded server,
 * that takes seconds (5 s was exceeded in tests). Well inside the activity's timeout.
 */
const DESCRIBE_DEADLINE_MS = 20_000;
/** How many distinct outcomes (and reasons) the finding names; the rest are counted. */
const MAX_REASONS = 3;
const MAX_REASON_CHARS = 160;

export interface ScheduleState {
  exists: boolean;
  paused: boolean;
  createdAt?: Date;
}

export type ScheduleReader = (client: Client, scheduleIds: readonly string[]) => Promise<Map<string, ScheduleState>>;

/** Schedule ids are the job names (schedules/reconcile.ts). */
export async function temporalSchedules(client: Client, scheduleIds: readonly string[]): Promise<Map<string, ScheduleState>> {
  const states = await Promise.all(
    scheduleIds.map(async (id): Promise<[string, ScheduleState]> => {
      try {
        const d = await client.connection.withDeadline(Date.now() + DESCRIBE_DEADLINE_MS, () => client.schedule.getHandle(id).describe());
        return [id, { exists: true, paused: d.state.paused, createdAt: d.info.createdAt }];
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) return [id, { exists: false, paused: false }];
        throw err;
      }
    }),
  );
  return new Map(states);
}

export function cadenceMs(cadence: ResolvedSchedule['cadence']): number {
  return 'every' in cadence ? durationMs(cadence.every) : DAY_MS;
}

interface RunGroup {
  outcome: string;
  why: string | null;
  n: number;
}

/** "skipped 6 times: Quiet hours; failed 2 times: 401 Unauthorized" */
export function describeRuns(groups: readonly RunGroup[]): string {
  const sorted = [...groups].sort((a, b) => b.n - a.n);
  const named = sorted.slice(0, MAX_REASONS).map((g) => {
    const times = `${g.outcome} ${g.n} time${g.n === 1 ? '' : 's'}`;
    return g.why ? `${times}: ${clip(g.why.replace(/\s+/g, ' '))}` : times;
  });
  const rest = sorted.slice(MAX_REASONS).reduce((n, g) => n + g.n, 0);
  return named.join('; ') + (rest ? `; ${rest} other run(s)` : '');
}

async function runsSinceDeadline(db: Kysely<Database>, job: string, since: string, until: string): Promise<RunGroup[]> {
  const rows = await db
    .selectFrom('agent_audit_log')
    .select((eb) => ['outcome', eb.fn.coalesce('reason', 'error').as('why'), eb.fn.countAll<number>().as('n')])
    .where('action', '=', job)
    .where('ts', '>', since)
    .where('ts', '<=', until)
    .where('action_type', '=', 'system')
    .where('outcome', 'is not', null)
    .groupBy(['outcome', (eb) => eb.fn.coalesce('reason', 'error')])
    .execute();
  return rows.map((r) => ({ outcome: String(r.outcome), why: r.why, n: Number(r.n) }));
}

async function lastRunAt(db: Kysely<Database>, job: string, until: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('agent_audit_log')
    .select((eb) => eb.fn.max('ts').as('ts'))
    .where('action', '=', job)
    .where('ts', '<=', until)
    .executeTakeFirst();
  return row?.ts ?? undefined;
}

/** When each job's schedule was last resumed by a person (opsctl schedules resume), after `since`. */
async function resumedSince(db: Kysely<Database>, since: string, until: string): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('agent_audit_log')
    .select(['ts', 'input_data'])
    .where('action', '=', 'schedules.resume')
    .where('ts', '>', since)
    .where('ts', '<=', until)
    .where('success', '=', 1)
    .execute();
  const resumed = new Map<string, string>();
  for (const row of rows) {
    const job = jobOf(row.input_data);
    if (job !== undefined && (resumed.get(job) ?? '') < row.ts) resumed.set(job, row.ts);
  }
  return resumed;
}

function jobOf(inputData: string | null): string | undefined {
  try {
    const job = (JSON.parse(inputData ?? 'null') as { job?: unknown } | null)?.job;
    return typeof job === 'string' ? job : undefined;
  } catch {
    return undefined;
  }
}

export function createStalenessWatcher(readSchedules: ScheduleReader = temporalSchedules): Watcher {
  return {
    name: 'staleness',
    incidentType: STALENESS_INCIDENT,
    async check({ db, client, config, now }) {
      const { factor, graceMinutes } = config.watchers.staleness;
      const until = now.toISOString();
      const rows = resolveSchedules(config).map((row) => {
        const allowedMs = factor * cadenceMs(row.cadence) + graceMinutes * 60_000;
        return { job: row.job, allowedMs, deadline: new Date(now.getTime() - allowedMs) };
      });
      const earliest = new Date(Math.min(...rows.map((r) => r.deadline.getTime()))).toISOString();
      const [schedules, resumed] = await Promise.all([
        readSchedules(
          client,
          rows.map((r) => r.job),
        ),
        resumedSince(db, earliest, until),
      ]);

      const notJudged = { paused: [] as string[], unscheduled: [] as string[], tooNew: [] as string[] };
      const judged = rows.filter(({ job, deadline }) => {
        const state = schedules.get(job);
        if (!state?.exists) return void notJudged.unscheduled.push(job);
        if (state.paused) return void notJudged.paused.push(job);
        const resumedAt = resumed.get(job);
        const clockStart = Math.max(state.createdAt?.getTime() ?? 0, resumedAt ? Date.parse(resumedAt) : 0);
        if (clockStart > deadline.getTime()) return void notJudged.tooNew.push(job);
        return true;
      });

      const findings = (
        await Promise.all(
          judged.map(async ({ job, allowedMs, deadline }): Promise<WatcherFinding | undefined> => {
            const groups = await runsSinceDeadline(db, job, deadline.toISOString(), until);
            if (groups.some((g) => g.outcome === 'succeeded')) return undefined;
            const within = span(allowedMs);
            let what: string;
            if (groups.length > 0) {
              what = describeRuns(groups);
            } else {
              const last = await lastRunAt(db, job, until);
              what = last ? `no run since ${last}` : 'never ran';
            }
            return {
              subject: job,
              job,
              severity: 'WARN',
              title: `${job} has not succeeded in ${within}: ${what}`,
              body:
                `${job} is scheduled and not paused, but no run succeeded in the last ${within} ` +
                `(${factor} x its cadence + ${graceMinutes} min). Its runs since ${deadline.toISOString()}: ${what}.`,
            };
          }),
        )
      ).filter((f): f is WatcherFinding => f !== undefined);

      const skipped = Object.entries(notJudged)
        .filter(([, jobs]) => jobs.length > 0)
        .map(([why, jobs]) => `${why}: ${jobs.join(', ')}`);
      return {
        findings,
        summary: `${findings.length} of ${judged.length} judged job(s) stale` + (skipped.length ? `; not judged (${skipped.join('; ')})` : ''),
        cleared: `succeeded within ${factor} x its cadence + ${graceMinutes} min, or paused or unscheduled`,
      };
    },
  };
}

export const stalenessWatcher = createStalenessWatcher();

function span(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

function clip(text: string): string {
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 1)}…` : text;
}
