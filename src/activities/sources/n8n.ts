import { missingSourceSettings, type Config } from '../../config';
import { N8nSource } from '../../integrations/n8n';
import { raiseIncidentIn } from '../../store';
import { readState, type SourceAdapter } from './adapter';

const HOUR_MS = 3600_000;
/** A first sync looks back this far; later ones start where the last stopped. */
const FIRST_SYNC_LOOKBACK_MS = 24 * HOUR_MS;

interface Cursor {
  page: string | null;
  /** Executions up to this id were seen by an earlier run. */
  stopAtId: number;
  /** First sync only: ignore executions that started before this. */
  notBefore: string | null;
  maxId: number;
  /** Failures per n8n workflow this run, carried page to page. */
  failures: Record<string, { count: number; lastId: number }>;
}

/**
 * Spec job 5: failed executions since the last sync, newest first; a workflow that failed
 * failureThreshold times or more gets one repeated_failures incident (at most one an hour).
 */
export function n8nAdapter(config: Config): SourceAdapter {
  const settings = config.sources.n8n;
  const { baseUrl, apiKey } = settings;
  const client =
    baseUrl && apiKey ? new N8nSource({ baseUrl, apiKey, pageSize: settings.pageSize, timeoutMs: config.sources.pageTimeoutMs }) : undefined;
  const empty: Cursor = { page: null, stopAtId: 0, notBefore: null, maxId: 0, failures: {} };
  return {
    source: 'n8n',
    missing: missingSourceSettings(config, 'n8n'),
    startCursor(watermark, now) {
      const last = readState('n8n', 'watermark', watermark, { lastId: -1 }).lastId;
      const first = last < 0;
      return JSON.stringify({
        ...empty,
        stopAtId: Math.max(last, 0),
        maxId: Math.max(last, 0),
        notBefore: first ? new Date(now.getTime() - FIRST_SYNC_LOOKBACK_MS).toISOString() : null,
      } satisfies Cursor);
    },
    async fetchPage(cursorJson) {
      const cursor = readState<Cursor>('n8n', 'cursor', cursorJson, empty);
      const { executions, nextCursor } = await client!.failedExecutions(cursor.page);
      const isNew = (e: (typeof executions)[number]) =>
        e.id > cursor.stopAtId && (cursor.notBefore === null || (e.startedAt ?? '') >= cursor.notBefore);
      const fresh = executions.filter(isNew);
      // Newest first: the first execution an earlier run saw ends this run.
      const reachedSeen = fresh.length < executions.length;
      const failures = { ...cursor.failures };
      for (const e of fresh) {
        const prior = failures[e.workflowId] ?? { count: 0, lastId: 0 };
        failures[e.workflowId] = { count: prior.count + 1, lastId: Math.max(prior.lastId, e.id) };
      }
      const maxId = Math.max(cursor.maxId, ...fresh.map((e) => e.id));
      const last = reachedSeen || nextCursor === null;
      return {
        items: fresh.length,
        nextCursor: last ? null : JSON.stringify({ ...cursor, page: nextCursor, maxId, failures } satisfies Cursor),
        watermark: JSON.stringify({ lastId: maxId }),
        apply: async (tx, now, raised) => {
          if (!last) return;
          for (const [workflowId, { count }] of Object.entries(failures)) {
            if (count < settings.failureThreshold) continue;
            const incident = {
              type: 'repeated_failures',
              severity: 'WARN',
              title: `Workflow ${workflowId} failed ${count} times`,
              body: `n8n workflow ${workflowId} had ${count} failed executions since the last sync (${baseUrl}).`,
              job: 'sync_n8n',
              relatedWorkflowId: workflowId,
              dedupeKey: `n8n.repeated_failures.${workflowId}`,
              dedupeWindowMs: HOUR_MS,
              now,
            } as const;
            const result = await raiseIncidentIn(tx, incident);
            if (result.created) raised.push({ id: result.id, incident });
          }
        },
      };
    },
  };
}
