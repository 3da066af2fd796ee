import { missingSourceSettings, type Config } from '../../config';
import { N8nSource, type N8nExecution } from '../../integrations/n8n';
import { listOpenIncidents, reportIncidentIn, type Database, type IncidentReport } from '../../store';
import type { Kysely } from 'kysely';
import { readState, type SourceAdapter } from './adapter';

const HOUR_MS = 3600_000;
/** A first sync looks back this far; later ones start where the last stopped. */
const FIRST_SYNC_LOOKBACK_MS = 24 * HOUR_MS;
/**
 * How long an execution may run and still be counted when it fails. n8n numbers an execution
 * when it is created, and its public API leaves running executions out of the list: one that
 * fails after a sync has an id below failures that sync already saw, so an id watermark alone
 * never counts it. Each run reads failures back to executions that started this long before the
 * previous run began, and counts the ones it has not counted before, by id.
 */
export const LATE_FAILURE_WINDOW_MS = 6 * HOUR_MS;
/** Counted ids remembered for the next run at most; past it the oldest are folded into countedBelow. */
export const MAX_REMEMBERED_IDS = 1_000;

interface Watermark {
  /** The newest failed execution seen; -1 before the first sync. */
  lastId: number;
  /** When the last completed run began (ISO); null in a watermark from before late failures were read. */
  syncedAt: string | null;
  /** Failed executions counted already that the next run reads again (started within the window). */
  counted: number[];
  /** Every execution at or below this id counts as already counted. */
  countedBelow: number;
}

interface Cursor {
  page: string | null;
  /** Executions above this id were not seen by an earlier run. */
  stopAtId: number;
  /**
   * Older executions are read down to the first that started before this (ISO). The first run
   * counts nothing that started before it; null: read down to stopAtId only (an old watermark).
   */
  floor: string | null;
  first: boolean;
  /** From the last run: ids not to count again, and the id at or below which all are counted. */
  counted: number[];
  countedBelow: number;
  /** When this run began (ISO): the next run's floor is this minus the window. */
  runStartedAt: string;
  maxId: number;
  /** Failed executions seen this run that the next run must not count again, and its countedBelow. */
  seen: number[];
  seenBelow: number;
  /** Failures per n8n workflow this run, carried page to page. */
  failures: Record<string, { count: number; lastId: number }>;
}

/** A cursor written before late failures were read ({ page, stopAtId, notBefore, maxId, failures }). */
interface LegacyCursor {
  notBefore?: string | null;
}

const EMPTY: Cursor = {
  page: null,
  stopAtId: 0,
  floor: null,
  first: false,
  counted: [],
  countedBelow: 0,
  runStartedAt: '',
  maxId: 0,
  seen: [],
  seenBelow: 0,
  failures: {},
};

function readCursor(json: string): Cursor {
  const { notBefore, ...cursor } = readState<Cursor & LegacyCursor>('n8n', 'cursor', json, EMPTY);
  // A first run in flight before the upgrade: its notBefore is the floor.
  return notBefore ? { ...cursor, floor: notBefore, first: true } : cursor;
}

const startedMs = (e: N8nExecution): number | null => (e.startedAt ? Date.parse(e.startedAt) : null);

/** Keeps the newest ids; the dropped ones move below `below`. */
function remember(ids: number[], below: number): { ids: number[]; below: number } {
  if (ids.length <= MAX_REMEMBERED_IDS) return { ids, below };
  const sorted = [...ids].sort((a, b) => b - a);
  return { ids: sorted.slice(0, MAX_REMEMBERED_IDS), below: Math.max(below, sorted[MAX_REMEMBERED_IDS]!) };
}

/** The incident type of an n8n workflow that keeps failing (subject: the n8n workflow id). */
export const N8N_WORKFLOW_FAILURES = 'n8n_workflow_failures';

async function hasOpenWorkflowIncident(tx: Kysely<Database>, workflowId: string): Promise<boolean> {
  return (await listOpenIncidents(tx, { type: N8N_WORKFLOW_FAILURES, subject: workflowId, limit: 1 })).length > 0;
}

/**
 * Spec job 5: failed executions since the last sync, newest first; a workflow that failed
 * failureThreshold times or more opens an n8n_workflow_failures incident (one open per workflow,
 * each later sync that sees it fail counts on it; resolved once a sync finds it clean).
 * An execution that was still running at the last sync and failed since is counted too, once.
 */
export function n8nAdapter(config: Config): SourceAdapter {
  const settings = config.sources.n8n;
  const { baseUrl, apiKey } = settings;
  const client =
    baseUrl && apiKey ? new N8nSource({ baseUrl, apiKey, pageSize: settings.pageSize, timeoutMs: config.sources.pageTimeoutMs }) : undefined;
  return {
    source: 'n8n',
    missing: missingSourceSettings(config, 'n8n'),
    startCursor(watermarkJson, now) {
      const watermark = readState<Watermark>('n8n', 'watermark', watermarkJson, { lastId: -1, syncedAt: null, counted: [], countedBelow: 0 });
      const first = watermark.lastId < 0;
      const stopAtId = Math.max(watermark.lastId, 0);
      const syncedMs = watermark.syncedAt === null ? NaN : Date.parse(watermark.syncedAt);
      const floorMs = first ? now.getTime() - FIRST_SYNC_LOOKBACK_MS : syncedMs - LATE_FAILURE_WINDOW_MS;
      const floor = Number.isNaN(floorMs) ? null : new Date(floorMs).toISOString();
      // From an old watermark (ids only), everything at or below its id was counted.
      const countedBelow = floor === null ? stopAtId : watermark.countedBelow;
      return JSON.stringify({
        ...EMPTY,
        stopAtId,
        floor,
        first,
        counted: watermark.counted,
        countedBelow,
        runStartedAt: now.toISOString(),
        maxId: stopAtId,
        seenBelow: countedBelow,
      } satisfies Cursor);
    },
    async fetchPage(cursorJson, now) {
      const cursor = readCursor(cursorJson);
      const { executions, nextCursor } = await client!.failedExecutions(cursor.page);
      const floorMs = cursor.floor === null ? null : Date.parse(cursor.floor);
      const beforeFloor = (e: N8nExecution): boolean => {
        const started = startedMs(e);
        return floorMs !== null && started !== null && started < floorMs;
      };
      // Newest first: the run ends at the first execution no later run needs to look at again.
      const endsRun = (e: N8nExecution): boolean => {
        if (cursor.first) return beforeFloor(e);
        if (cursor.floor === null) return e.id <= cursor.stopAtId;
        return e.id <= cursor.countedBelow || (e.id <= cursor.stopAtId && beforeFloor(e));
      };
      const end = executions.findIndex(endsRun);
      const read = end < 0 ? executions : executions.slice(0, end);
      const counted = new Set(cursor.counted);
      const fresh = read.filter((e) => !counted.has(e.id));
      const failures = { ...cursor.failures };
      for (const e of fresh) {
        const prior = failures[e.workflowId] ?? { count: 0, lastId: 0 };
        failures[e.workflowId] = { count: prior.count + 1, lastId: Math.max(prior.lastId, e.id) };
      }
      // The next run reads again what started within the window before this run began.
      const runStartedAt = cursor.runStartedAt || now.toISOString();
      const nextFloorMs = Date.parse(runStartedAt) - LATE_FAILURE_WINDOW_MS;
      const again = read.filter((e) => (startedMs(e) ?? Infinity) >= nextFloorMs).map((e) => e.id);
      const { ids: seen, below: seenBelow } = remember([...cursor.seen, ...again], cursor.seenBelow);
      const maxId = Math.max(cursor.maxId, ...read.map((e) => e.id));
      const last = end >= 0 || nextCursor === null;
      const next: Cursor = { ...cursor, page: nextCursor, runStartedAt, maxId, seen, seenBelow, failures };
      const watermark: Watermark = { lastId: maxId, syncedAt: runStartedAt, counted: seen, countedBelow: seenBelow };
      return {
        items: fresh.length,
        nextCursor: last ? null : JSON.stringify(next),
        watermark: JSON.stringify(watermark),
        apply: async (tx, at, raised) => {
          if (!last) return;
          for (const [workflowId, { count }] of Object.entries(failures)) {
            // Under the threshold, a failure still counts on an open incident: the workflow does
            // not run clean yet, so its incident stays open (the resolver waits for a clean sync).
            if (count < settings.failureThreshold && !(await hasOpenWorkflowIncident(tx, workflowId))) continue;
            const incident: IncidentReport = {
              type: N8N_WORKFLOW_FAILURES,
              subject: workflowId,
              severity: 'WARN',
              title: `Workflow ${workflowId} failed ${count} times`,
              body: `n8n workflow ${workflowId} had ${count} failed executions since the last sync (${baseUrl}).`,
              job: 'sync_n8n',
              now: at,
            };
            // No related run: the page's commit applies this exactly once, so each sync counts once.
            const result = await reportIncidentIn(tx, incident);
            if (result.alert) raised.push({ id: result.id, incident: { ...incident, severity: result.severity } });
          }
        },
      };
    },
  };
}
