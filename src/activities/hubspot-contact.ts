/**
 * The webhook's per-contact sync: one contact read by id from HubSpot and written through the
 * full sync's store path (storeContacts), in one transaction that checks the controls again.
 */
import type { Kysely } from 'kysely';
import { missingSourceSettings } from '../config';
import { KillSwitchActive, ValidationError } from '../errors';
import { HubSpotSource } from '../integrations/hubspot';
import { countApiCall, readControls, writeTransaction, type Database } from '../store';
import type { ActivityDeps } from './deps';
import { storeContacts } from './sources/hubspot';
import { WritesDisabled } from './sync';
import { rethrowCounted } from './watchers/api-usage';

/** HubSpot object ids are numeric; anything else never reaches the API (it would land in its URL path). */
export const HUBSPOT_CONTACT_ID = /^[1-9]\d{0,19}$/;

export type ContactSynced =
  | { status: 'not_configured'; missing: string }
  /** HubSpot has no such contact (deleted, merged away, archived): nothing is written, nothing deleted. */
  | { status: 'not_found'; contactId: string }
  | { status: 'stored'; contactId: string; write: 'inserted' | 'changed' | 'unchanged' | 'older' };

export function createHubSpotContactActivities(deps: ActivityDeps) {
  const { config, store, now } = deps;
  const db = store.db;
  const settings = config.sources.hubspot;
  const client = settings.token ? new HubSpotSource({ ...settings, token: settings.token }) : undefined;
  return {
    /** Runs on the hubspot task queue, so it shares the API's rate limit with the full sync. */
    async syncHubSpotContact(args: { contactId: string }): Promise<ContactSynced> {
      const missing = missingSourceSettings(config, 'hubspot');
      if (missing || !client) return { status: 'not_configured', missing: missing ?? 'sources.hubspot.token' };
      if (!HUBSPOT_CONTACT_ID.test(args.contactId)) throw new ValidationError(`HubSpot contact id must be numeric, got ${JSON.stringify(args.contactId).slice(0, 40)}`);
      await assertMayWrite(db);
      let contact;
      try {
        contact = await client.contactById(args.contactId).catch(rethrowCounted(db, 'hubspot', now));
      } finally {
        await countApiCall(db, 'hubspot', now()).catch(() => undefined);
      }
      if (!contact) return { status: 'not_found', contactId: args.contactId };
      const counts = await writeTransaction(db, async (tx) => {
        // Again inside the transaction: a contact read before a kill switch is never written after it.
        await assertMayWrite(tx);
        return storeContacts(tx, [contact], now());
      });
      const write = counts.inserted ? 'inserted' : counts.changed ? 'changed' : counts.older ? 'older' : 'unchanged';
      return { status: 'stored', contactId: args.contactId, write };
    },
  };
}

async function assertMayWrite(db: Kysely<Database>): Promise<void> {
  const controls = await readControls(db);
  if (controls?.killSwitch) throw new KillSwitchActive();
  if (controls && !controls.writeEnabled) throw new WritesDisabled();
}
