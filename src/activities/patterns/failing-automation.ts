/**
 * failing_automation: an n8n workflow that fails sync after sync. The n8n sync reports each sync
 * that saw a workflow fail (failureThreshold times, or at all while its incident is open) as an
 * occurrence of an n8n_workflow_failures incident whose subject is the workflow id; those
 * incidents are the evidence.
 *
 * Confidence = min(1, 0.3 + 0.2 × S), S = the occurrences (failing syncs) of the workflow's
 * n8n_workflow_failures incidents last seen within the lookback (an incident still open counts
 * every sync it has seen). One failing sync (0.5) is a bad moment; two (0.7) is "again and again".
 */
import { N8N_WORKFLOW_FAILURES } from '../sources/n8n';
import { bySubject, clip, evidence, num, round3 } from './common';
import type { Detector, Pattern } from './types';

export const FAILING_AUTOMATION = 'failing_automation';

export function failingAutomationConfidence(failingSyncs: number): number {
  return round3(0.3 + 0.2 * failingSyncs);
}

export const failingAutomation: Detector = {
  kind: FAILING_AUTOMATION,
  describe:
    'min(1, 0.3 + 0.2 × S), S = failing n8n syncs of the workflow (occurrences of its n8n_workflow_failures incidents seen in the lookback): 1 sync 0.5, 2 syncs 0.7, 4+ syncs 1',
  async detect({ db, since, now }) {
    const rows = await db
      .selectFrom('incidents')
      .select(['id', 'subject', 'occurrences', 'title', 'status'])
      .where('type', '=', N8N_WORKFLOW_FAILURES)
      .where('subject', 'is not', null)
      .where('archived', '=', 0)
      .where((eb) => eb(eb.fn.coalesce('last_seen_at', 'created_at'), '>=', since.toISOString()))
      .where('created_at', '<=', now.toISOString())
      .orderBy('id')
      .execute();
    const byWorkflow = new Map<string, { syncs: number; ids: number[]; open: boolean; latest: string }>();
    for (const row of rows) {
      const entry = byWorkflow.get(row.subject!) ?? { syncs: 0, ids: [], open: false, latest: '' };
      entry.syncs += num(row.occurrences);
      entry.ids.push(num(row.id));
      entry.open ||= row.status === 'open';
      entry.latest = row.title;
      byWorkflow.set(row.subject!, entry);
    }
    const patterns: Pattern[] = [];
    for (const [workflow, { syncs, ids, open, latest }] of byWorkflow) {
      const subject = clip(workflow, 200);
      patterns.push({
        kind: FAILING_AUTOMATION,
        subject,
        confidence: failingAutomationConfidence(syncs),
        // Newest incident first: it says how the workflow fails now.
        evidence: evidence('incidents', [...ids].reverse()),
        summary:
          `n8n workflow ${subject} failed in ${syncs} sync${syncs === 1 ? '' : 's'} of the last lookback ` +
          `(${ids.length} incident${ids.length === 1 ? '' : 's'}, ${open ? 'still open' : 'resolved'}; latest: ${clip(latest, 120)}).`,
        title: `Fix n8n workflow ${subject}: it keeps failing`,
        action: { kind: 'record_only', note: clip(`fix n8n workflow ${subject}: it failed in ${syncs} syncs`, 500) },
      });
    }
    return bySubject(patterns);
  },
};
