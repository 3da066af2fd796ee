import type { Insertable, Kysely, Selectable } from 'kysely';
import { DEAD_LETTER_STATUSES, type Database, type DeadLettersTable, type DeadLetterStatus } from './schema';
import { isPostgres, writeTransaction } from './tx';

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
      last_replay_error: outcome.succeeded ? null : (outcome.error ?? null),
      ...(outcome.workflowId ? { last_replay_workflow_id: outcome.workflowId } : {}),
    }))
    .where('id', '=', id);
  if (!outcome.succeeded) update = update.where('status', '!=', 'resolved');
  await update.execute();
}

export interface ClaimOptions {
  category: string;
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
      .where('category', '=', opts.category)
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
