import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from './schema';
import { writeTransaction } from './tx';

/** Opaque to the store, apart from what the kill-switch check reads. */
export type MirroredControls = Record<string, unknown> & { killSwitch: boolean; version: number };

/** The state as ops-controls holds it: who changed it last, when and why, travel with it. */
export type ControlsSnapshot = MirroredControls & { updatedAt: string; updatedBy: string; reason: string };

const mirroredShape = z.looseObject({ killSwitch: z.boolean(), version: z.number() });

/**
 * Writes the controls mirror and the audit row of the change in one transaction. The mirror
 * never moves to an older version: a retried write of a superseded state must not turn a kill
 * switch back off. The audit row is written either way, since the change did happen.
 */
export async function saveControls(
  db: Kysely<Database>,
  state: ControlsSnapshot,
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
  await writeTransaction(db, async (tx) => {
    await tx
      .insertInto('agent_controls')
      .values(row)
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet({ ...row, id: undefined })
          .where('agent_controls.version', '<=', state.version),
      )
      .execute();
    await tx
      .insertInto('agent_audit_log')
      .values({
        ts: state.updatedAt,
        action: 'controls.update',
        action_type: 'control',
        success: 1,
        input_data: JSON.stringify(audit.change),
        output_data: row.state,
        actor: audit.actor,
        reason: audit.reason,
      })
      .execute();
  });
}

/** The mirrored state, or undefined before ops-controls first wrote it. A malformed row throws. */
export async function readControls(db: Kysely<Database>): Promise<MirroredControls | undefined> {
  const row = await db.selectFrom('agent_controls').select('state').where('id', '=', 1).executeTakeFirst();
  if (!row) return undefined;
  const parsed = mirroredShape.safeParse(JSON.parse(row.state));
  if (!parsed.success) throw new Error(`The agent_controls mirror is malformed: ${parsed.error.message}`);
  return parsed.data as MirroredControls;
}
