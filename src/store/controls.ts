import type { Kysely } from 'kysely';
import type { Database } from './schema';

export type MirroredControls = Record<string, unknown> & { killSwitch: boolean; version: number };

/** Writes the controls mirror and its audit row in one transaction. */
export async function saveControls(
  db: Kysely<Database>,
  state: MirroredControls & { updatedAt: string; updatedBy: string; reason: string },
  audit: { actor: string; reason: string; change: Record<string, unknown> },
): Promise<void> {
  const row = {
    id: 1,
    state: JSON.stringify(state),
    version: state.version,
    updated_at: state.updatedAt,
    updated_by: state.updatedBy,
    reason: state.reason,
  };
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto('agent_controls')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ ...row, id: undefined }))
      .execute();
    await tx
      .insertInto('agent_audit_log')
      .values({
        ts: state.updatedAt,
        action: 'controls.update',
        action_type: 'control',
        success: 1,
        input_data: JSON.stringify(audit.change),
        output_data: JSON.stringify(state),
        actor: audit.actor,
        reason: audit.reason,
      })
      .execute();
  });
}

export async function readControls(db: Kysely<Database>): Promise<MirroredControls | undefined> {
  const row = await db.selectFrom('agent_controls').select('state').where('id', '=', 1).executeTakeFirst();
  return row ? (JSON.parse(row.state) as MirroredControls) : undefined;
}
