import type { Kysely } from 'kysely';
import type { Database } from './schema';
import { writeTransaction } from './tx';

const DAY_MS = 24 * 3600_000;

export interface Retention {
  now: Date;
  auditDays: number;
  deadLetterDays: number;
  incidentDays: number;
}

export interface Archived {
  audit: number;
  deadLetters: number;
  incidents: number;
}

/**
 * The spec's retention, by archive flag only: audit rows by age, dead letters and incidents by
 * how long ago they were resolved (open ones stay in view however old). Idempotent.
 */
export async function archiveOldData(db: Kysely<Database>, opts: Retention): Promise<Archived> {
  const at = opts.now.toISOString();
  const before = (days: number) => new Date(opts.now.getTime() - days * DAY_MS).toISOString();
  return writeTransaction(db, async (tx) => {
    const audit = await tx
      .updateTable('agent_audit_log')
      .set({ archived: 1, archived_at: at })
      .where('archived', '=', 0)
      .where('ts', '<', before(opts.auditDays))
      .executeTakeFirst();
    const archiveResolved = (table: 'dead_letters' | 'incidents', days: number) =>
      tx
        .updateTable(table)
        .set({ archived: 1, archived_at: at })
        .where('archived', '=', 0)
        .where('status', '=', 'resolved')
        .where('resolved_at', '<', before(days))
        .executeTakeFirst();
    const deadLetters = await archiveResolved('dead_letters', opts.deadLetterDays);
    const incidents = await archiveResolved('incidents', opts.incidentDays);
    return {
      audit: Number(audit.numUpdatedRows),
      deadLetters: Number(deadLetters.numUpdatedRows),
      incidents: Number(incidents.numUpdatedRows),
    };
  });
}
