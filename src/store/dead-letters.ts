import { PostgresAdapter, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { Database, DeadLettersTable, DeadLetterStatus } from './schema';

export type DeadLetterRow = Selectable<DeadLettersTable>;

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

export async function listDeadLetters(
  db: Kysely<Database>,
  filter: { status?: string; includeArchived?: boolean; limit?: number } = {},
): Promise<DeadLetterRow[]> {
  let query = db.selectFrom('dead_letters').selectAll();
  if (filter.status) query = query.where('status', '=', filter.status as DeadLetterStatus);
  if (!filter.includeArchived) query = query.where('archived', '=', 0);
  return query.orderBy('id', 'desc').limit(filter.limit ?? 100).execute();
}

export async function markReplayStarted(db: Kysely<Database>, id: number, workflowId: string, now: Date): Promise<void> {
  await db
    .updateTable('dead_letters')
    .set({ status: 'replaying', last_replay_workflow_id: workflowId, last_replayed_at: now.toISOString() })
    .where('id', '=', id)
    .execute();
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

export async function recordReplayOutcome(db: Kysely<Database>, id: number, outcome: ReplayOutcome): Promise<void> {
  const at = outcome.now.toISOString();
  await db
    .updateTable('dead_letters')
    .set((eb) => ({
      status: outcome.succeeded ? 'resolved' : outcome.exhausted ? 'exhausted' : 'open',
      resolved_at: outcome.succeeded ? at : null,
      replay_attempts: outcome.countsAsAttempt ? eb('replay_attempts', '+', 1) : eb.ref('replay_attempts'),
      next_attempt_at: outcome.succeeded ? null : (outcome.nextAttemptAt?.toISOString() ?? null),
      last_replayed_at: at,
      last_replay_error: outcome.succeeded ? null : (outcome.error ?? null),
      ...(outcome.workflowId ? { last_replay_workflow_id: outcome.workflowId } : {}),
    }))
    .where('id', '=', id)
    .execute();
}

/**
 * Due letters of one category, oldest first, claimed atomically: a claim flips them to
 * 'replaying' with a lease (next_attempt_at = now + leaseMs), so two claimers never share a
 * letter and a replay that never reports back makes its letter due again when the lease ends.
 */
export async function claimDueDeadLetters(
  db: Kysely<Database>,
  opts: { category: string; limit: number; maxAttempts: number; now: Date; leaseMs: number },
): Promise<DeadLetterRow[]> {
  const now = opts.now.toISOString();
  return db.transaction().execute(async (tx) => {
    let query = tx
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
      .orderBy('id')
      .limit(opts.limit);
    if (tx.getExecutor().adapter instanceof PostgresAdapter) query = query.forUpdate().skipLocked();
    const ids = (await query.execute()).map((r) => r.id);
    if (ids.length === 0) return [];
    await tx
      .updateTable('dead_letters')
      .set({ status: 'replaying', next_attempt_at: new Date(opts.now.getTime() + opts.leaseMs).toISOString() })
      .where('id', 'in', ids)
      .execute();
    return tx.selectFrom('dead_letters').selectAll().where('id', 'in', ids).orderBy('id').execute();
  });
}
