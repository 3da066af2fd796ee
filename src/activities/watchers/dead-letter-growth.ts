/**
 * Production monitoring: "Monitor DLQ size (alert if growing)". The open (unresolved) dead letters
 * now against the window's start, read from the letters themselves rather than from a stored
 * snapshot: the change is the letters created in the window minus the letters resolved in it (a
 * letter's resolved_at is set once and never cleared), two counts whose cost follows the window.
 */
import type { Kysely } from 'kysely';
import type { Database, DeadLetterStatus } from '../../store/schema';
import type { Watcher } from './types';

export const DEAD_LETTER_GROWTH_INCIDENT = 'dead_letter_growth';
export const DEAD_LETTERS_SUBJECT = 'dead_letters';

const UNRESOLVED: DeadLetterStatus[] = ['open', 'replaying', 'exhausted'];

export interface DeadLetterGrowth {
  /** Unresolved now (archiving never touches an unresolved letter). */
  openNow: number;
  /** Unresolved at `since`. */
  openThen: number;
  created: number;
  resolved: number;
}

export async function deadLetterGrowth(db: Kysely<Database>, since: Date, now: Date): Promise<DeadLetterGrowth> {
  const [from, to] = [since.toISOString(), now.toISOString()];
  const count = (column: 'created_at' | 'resolved_at') =>
    db
      .selectFrom('dead_letters')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(column, '>', from)
      .where(column, '<=', to)
      .executeTakeFirstOrThrow();
  const [created, resolved, open] = await Promise.all([
    count('created_at'),
    count('resolved_at'),
    db
      .selectFrom('dead_letters')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', 'in', UNRESOLVED)
      .where('created_at', '<=', to)
      .executeTakeFirstOrThrow(),
  ]);
  const openNow = Number(open.n);
  const growth = Number(created.n) - Number(resolved.n);
  return { openNow, openThen: openNow - growth, created: Number(created.n), resolved: Number(resolved.n) };
}

export const deadLetterGrowthWatcher: Watcher = {
  name: 'dead_letter_growth',
  incidentType: DEAD_LETTER_GROWTH_INCIDENT,
  async check({ db, config, now }) {
    const { windowHours, minGrowth } = config.watchers.deadLetterGrowth;
    const since = new Date(now.getTime() - windowHours * 3_600_000);
    const g = await deadLetterGrowth(db, since, now);
    const growth = g.openNow - g.openThen;
    const figures = `${g.openThen} -> ${g.openNow} open dead letters in ${windowHours} h (${g.created} new, ${g.resolved} resolved)`;
    const cleared = `open dead letters no longer growing over ${windowHours} h`;
    if (growth < minGrowth) return { findings: [], summary: figures, cleared };
    return {
      findings: [
        {
          subject: DEAD_LETTERS_SUBJECT,
          severity: 'WARN',
          title: `Dead letters grew by ${growth} in ${windowHours} h (${g.openNow} open)`,
          body: `${figures}. Replays are not keeping up with new failures: opsctl dead-letters list.`,
        },
      ],
      summary: figures,
      cleared,
    };
  },
};
