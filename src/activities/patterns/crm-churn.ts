/**
 * crm_churn: a burst of HubSpot contact changes well above their usual rate. The HubSpot sync
 * upserts one memory item per contact (key hubspot.contact.<id>), stamping updated_at when it
 * stores a new or changed contact. Changes in the last BURST_HOURS are compared with the rate of
 * the rest of the lookback (the baseline).
 *
 * Confidence = min(1, max(0, (X − 1) / 5)) × min(1, B / 10), with B = contacts changed in the
 * last hour, E = the baseline's changes per hour × BURST_HOURS (at least 1, so a quiet CRM does
 * not make 3 changes a burst), X = B / E. Four times the usual rate is 0.6, six times is 1; under
 * 10 changes the weight shrinks in proportion. A contact changed twice counts once, in its
 * latest change (the item is updated in place), so the baseline is a lower bound.
 * Until the store holds a contact synced at or before the lookback's start there is no baseline
 * (the first sync imports every contact at once): no pattern then.
 */
import { clamp01, evidence, MAX_EVIDENCE, num, round3 } from './common';
import type { Detector, Pattern } from './types';

export const CRM_CHURN = 'crm_churn';
export const BURST_HOURS = 1;
/** Changes a burst needs for full weight. */
export const FULL_BURST = 10;
const HOUR_MS = 3_600_000;
const KEY_PREFIX = 'hubspot.contact.';

export function crmChurnConfidence(burst: number, expected: number): number {
  const ratio = burst / Math.max(expected, 1);
  return round3(clamp01((ratio - 1) / 5) * Math.min(1, burst / FULL_BURST));
}

export const crmChurn: Detector = {
  kind: CRM_CHURN,
  describe: `min(1, max(0, (X − 1) / 5)) × min(1, B / ${FULL_BURST}), B = HubSpot contacts changed in the last ${BURST_HOURS} h, X = B / max(1, the rest of the lookback's changes per hour × ${BURST_HOURS}): 4× the usual rate is 0.6, 6× is 1; no pattern before the sync has a full lookback of history`,
  async detect({ db, since, now }) {
    const burstStart = new Date(Math.max(since.getTime(), now.getTime() - BURST_HOURS * HOUR_MS));
    const baselineHours = (burstStart.getTime() - since.getTime()) / HOUR_MS;
    if (baselineHours <= 0) return [];
    const contacts = db
      .selectFrom('memory_items')
      .where('source_type', '=', 'hubspot')
      .where('key', 'like', `${KEY_PREFIX}%`)
      .where('archived', '=', 0);
    const oldest = await contacts.select((eb) => eb.fn.min('created_at').as('at')).executeTakeFirst();
    if (!oldest?.at || oldest.at > since.toISOString()) return [];
    const changedFrom = (from: Date) =>
      contacts.where('superseded_at', 'is', null).where('updated_at', '>=', from.toISOString()).where('updated_at', '<=', now.toISOString());
    // Counted in the database: a big CRM's day of changes is not read row by row.
    const count = async (from: Date) => num((await changedFrom(from).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const inLookback = await count(since);
    const burst = await count(burstStart);
    // The newest changes of the burst are its evidence.
    const burstIds = (await changedFrom(burstStart).select('id').orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(MAX_EVIDENCE).execute()).map((r) => num(r.id));
    const baseline = inLookback - burst;
    const expected = (baseline / baselineHours) * BURST_HOURS;
    const confidence = crmChurnConfidence(burst, expected);
    if (burst === 0 || confidence <= 0) return [];
    const pattern: Pattern = {
      kind: CRM_CHURN,
      subject: 'hubspot.contacts',
      confidence,
      evidence: evidence('memory_items', burstIds),
      summary:
        `${burst} HubSpot contacts changed in the last ${BURST_HOURS} h, against ${expected.toFixed(1)} usual ` +
        `(${baseline} in the ${baselineHours.toFixed(0)} h before): ${(burst / Math.max(expected, 1)).toFixed(1)}× the usual rate.`,
      title: `A burst of HubSpot contact changes (${burst} in ${BURST_HOURS} h)`,
      action: { kind: 'record_only', note: `check what changed ${burst} HubSpot contacts in ${BURST_HOURS} h (an import, an integration, a mistake?)` },
    };
    return [pattern];
  },
};
