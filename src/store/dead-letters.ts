import type { Insertable, Kysely, Selectable } from 'kysely';
import { DEAD_LETTER_STATUSES, type Database, type DeadLettersTable, type DeadLetterStatus } from './schema';
import { isPostgres, writeTransaction } from './tx';
import { SKIP_REASONS } from '../definitions';
import { backoffDelayMs, type RetrySettings } from '../policies';

export type DeadLetterRow = Selectable<DeadLettersTable>;

/** workflow_type defaults to the job name, which is the workflow type of every job. */
export type NewDeadLetter = Omit<Insertable<DeadLettersTable>, 'workflow_type'> & { workflow_type?: string };

export async function insertDeadLetter(db: Kysely<Database>, letter: NewDeadLetter): Promise<number> {
  const row = await db
    .insertInto('dead_letters')
    .values({ ...letter, workflow_type: letter.workflow_type ?? letter.job })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function getDeadLetter(db: Kysely<Database>, id: number): Promise<DeadLetterRow | undefined> {
  return db.selectFrom('dead_letters').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The dead letter a failed run left: written with its audit row, in one transaction, at one time. */
export async function findDeadLetterOfRun(db: Kysely<Database>, run: { job: string; workflowId: string; at: string }): Promise<DeadLetterRow | undefined> {
  return db
    .selectFrom('dead_letters')
    .selectAll()
    .where('workflow_id', '=', run.workflowId)
    .where('job', '=', run.job)
    .where('created_at', '=', run.at)
    .orderBy('id')
    .executeTakeFirst();
}

/** Newest first. `status` is checked because it comes straight from a command line. */
export async function listDeadLetters(
  db: Kysely<Database>,
  filter: { status?: string; includeArchived?: boolean; limit?: number } = {},
): Promise<DeadLetterRow[]> {
  let query = db.selectFrom('dead_letters').selectAll();
  if (filter.status !== undefined) query = query.where('status', '=', deadLetterStatus(filter.status));
  if (!filter.includeArchived) query = query.where('archived', '=', 0);
  return query.orderBy('id', 'desc').limit(filter.limit ?? 100).execute();
}

function deadLetterStatus(value: string): DeadLetterStatus {
  if ((DEAD_LETTER_STATUSES as readonly string[]).includes(value)) return value as DeadLetterStatus;
  throw new Error(`Unknown dead letter status "${value}": expected one of ${DEAD_LETTER_STATUSES.join(', ')}`);
}

/**
 * A person's replay has started. The lease is cleared so the retry queue leaves the letter alone
 * until the replay reports back. A resolved letter is left as it is: returns false.
 */
export async function markReplayStarted(db: Kysely<Database>, id: number, workflowId: string, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('dead_letters')
    .set({ status: 'replaying', last_replay_workflow_id: workflowId, last_replayed_at: now.toISOString(), next_attempt_at: null })
    .where('id', '=', id)
    .where('status', '!=', 'resolved')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export interface ReplayOutcome {
  succeeded: boolean;
  error?: string;
  now: Date;
  /** When the retry queue may try again (failed replays). */
  nextAttemptAt?: Date;
  /** The automatic attempts are used up: leave it for a person. */
  exhausted?: boolean;
  /** Automatic replays count against the attempt limit; a person's replay does not. */
  countsAsAttempt: boolean;
  workflowId?: string;
  /** Why a letter was resolved without a successful run (a replay that found nothing left to do). */
  note?: string;
}

/**
 * Writes back how a replay ended. A failure never reopens a letter that another replay has
 * already resolved (a person's replay and the retry queue's can overlap).
 */
export async function recordReplayOutcome(db: Kysely<Database>, id: number, outcome: ReplayOutcome): Promise<void> {
  const at = outcome.now.toISOString();
  let update = db
    .updateTable('dead_letters')
    .set((eb) => ({
      status: outcome.succeeded ? 'resolved' : outcome.exhausted ? 'exhausted' : 'open',
      resolved_at: outcome.succeeded ? at : null,
      replay_attempts: outcome.countsAsAttempt ? eb('replay_attempts', '+', 1) : eb.ref('replay_attempts'),
      next_attempt_at: outcome.succeeded || outcome.exhausted ? null : (outcome.nextAttemptAt?.toISOString() ?? null),
      last_replayed_at: at,
      // The column holds the last replay's message: its error, or why it resolved the letter without running.
      last_replay_error: outcome.succeeded ? (outcome.note ?? null) : (outcome.error ?? null),
      ...(outcome.workflowId ? { last_replay_workflow_id: outcome.workflowId } : {}),
    }))
    .where('id', '=', id);
  if (!outcome.succeeded) update = update.where('status', '!=', 'resolved');
  await update.execute();
}

export interface ClaimOptions {
  /** The categories the queue replays (one, or several). */
  category: string | readonly string[];
  /** Jobs whose letters are left for a person whatever their category. */
  excludeJobs?: readonly string[];
  limit: number;
  /** Letters with this many automatic replays are left for a person. */
  maxAttempts: number;
  now: Date;
  /** How long a claim lasts if its replay never reports back; 10 minutes unless given. */
  leaseMs?: number;
}

const DEFAULT_LEASE_MS = 10 * 60_000;

/**
 * Due letters of one category, oldest first, claimed atomically: a claim flips them to
 * 'replaying' with a lease (next_attempt_at = now + leaseMs), so two claimers never share a
 * letter and a replay that never reports back makes its letter due again when the lease ends.
 */
export async function claimDueDeadLetters(db: Kysely<Database>, opts: ClaimOptions): Promise<DeadLetterRow[]> {
  const now = opts.now.toISOString();
  const leaseEnds = new Date(opts.now.getTime() + (opts.leaseMs ?? DEFAULT_LEASE_MS)).toISOString();
  return writeTransaction(db, async (tx) => {
    let due = tx
      .selectFrom('dead_letters')
      .select('id')
      .where('category', 'in', typeof opts.category === 'string' ? [opts.category] : [...opts.category])
      .where('archived', '=', 0)
      .where('replay_attempts', '<', opts.maxAttempts)
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'open'), eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)])]),
          eb.and([eb('status', '=', 'replaying'), eb('next_attempt_at', '<=', now)]),
        ]),
      )
      .orderBy('created_at')
      .orderBy('id')
      .limit(opts.limit);
    if (opts.excludeJobs?.length) due = due.where('job', 'not in', [...opts.excludeJobs]);
    // A concurrent claimer skips the rows this one holds instead of waiting for them.
    if (isPostgres(tx)) due = due.forUpdate().skipLocked();
    const ids = (await due.execute()).map((r) => r.id);
    if (ids.length === 0) return [];
    await tx
      .updateTable('dead_letters')
      .set({ status: 'replaying', next_attempt_at: leaseEnds, last_replayed_at: now })
      .where('id', 'in', ids)
      .execute();
    return tx.selectFrom('dead_letters').selectAll().where('id', 'in', ids).orderBy('created_at').orderBy('id').execute();
  });
}

/**
 * What a replay that ended skipped means for its letter.
 * - resolve: the skip says nothing is left to do (today's digest or call already went out, the
 *   job or its source is not set up): the letter is resolved, with the skip as the reason.
 * - retry: a control stops the job for now (quiet hours, comms, writes or jobs disabled). That may
 *   clear, so the letter waits with backoff and the attempt counts, and it exhausts like a failure
 *   instead of being claimed again every 30 s.
 * - release: the kill switch. It stops the retry queue itself, so nothing is retried while it is
 *   on: the letter goes back as it was (due, no attempt counted) for when it is off.
 * A skip reason this does not know counts as an attempt: bounded, never a loop.
 */
export type SkipVerdict = 'resolve' | 'retry' | 'release';

const NOTHING_LEFT_TO_DO: readonly string[] = [SKIP_REASONS.notConfigured, SKIP_REASONS.notImplemented];
/** daily_digest's and morning_call's skips: "Today's digest (DAY) was already sent (...)". */
const ALREADY_DONE = /^Today's .+ was already (sent|made)\b/;

export function skipVerdict(reason: string | undefined): SkipVerdict {
  if (reason === SKIP_REASONS.killSwitch) return 'release';
  if (reason !== undefined && (NOTHING_LEFT_TO_DO.includes(reason) || ALREADY_DONE.test(reason))) return 'resolve';
  return 'retry';
}

export interface ReplayResult {
  outcome: 'succeeded' | 'failed' | 'skipped';
  error?: string;
  /** Why the replay was skipped. */
  reason?: string;
  /** The replay's workflow id. */
  workflowId?: string;
  /** Started by the retry queue: counts against the attempt limit; a person's replay does not. */
  automatic: boolean;
  now: Date;
  retry: RetrySettings;
  /** Automatic attempts before the letter is left for a person. */
  maxAttempts: number;
}

/** Writes back how a replay of letter `id` ended (recordRun calls it with the replay's audit row). */
export async function recordReplayResult(db: Kysely<Database>, id: number, r: ReplayResult): Promise<void> {
  const letter = await getDeadLetter(db, id);
  if (!letter) return;
  const verdict = r.outcome === 'succeeded' ? 'resolve' : r.outcome === 'failed' ? 'retry' : skipVerdict(r.reason);
  const base = { now: r.now, workflowId: r.workflowId };
  if (verdict === 'release') {
    await releaseDeadLetters(db, [id]);
    return;
  }
  if (verdict === 'resolve') {
    await recordReplayOutcome(db, id, { ...base, succeeded: true, countsAsAttempt: false, note: r.outcome === 'skipped' ? `Resolved without a run: ${r.reason ?? 'skipped'}` : undefined });
    return;
  }
  const countsAsAttempt = r.automatic;
  const attemptsAfter = letter.replay_attempts + (countsAsAttempt ? 1 : 0);
  await recordReplayOutcome(db, id, {
    ...base,
    succeeded: false,
    error: r.error ?? (r.reason === undefined ? undefined : `Skipped: ${r.reason}`),
    nextAttemptAt: new Date(r.now.getTime() + backoffDelayMs(Math.max(1, attemptsAfter), r.retry)),
    exhausted: attemptsAfter >= r.maxAttempts,
    countsAsAttempt,
  });
}

/**
 * Gives claimed letters back untouched (open, due, no attempt counted): the replays a stopped
 * retry queue did not run, or one the kill switch stopped. Only letters still being replayed.
 */
export async function releaseDeadLetters(db: Kysely<Database>, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db
    .updateTable('dead_letters')
    .set({ status: 'open', next_attempt_at: null })
    .where('id', 'in', [...ids])
    .where('status', '=', 'replaying')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
