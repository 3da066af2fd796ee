/**
 * The sync engine: a run claims a source, commits it page by page (one API request and one
 * transaction per page, plus the request's api_calls count), and ends by releasing it. The cursor lives in data_source_sync, so
 * after a crash the next attempt or run continues from the last committed page.
 */
import type { Kysely } from 'kysely';
import { KillSwitchActive, OpsError } from '../errors';
import { activityInfo } from '@temporalio/activity';
import { isJobName, type JobName } from '../jobs';
import { CATEGORY_POLICIES, ERROR_CATEGORIES, failureSeverity, isErrorCategory } from '../policies';
import {
  claimSourceSync,
  commitSourcePage,
  countApiCall,
  getSourceSync,
  readControls,
  releaseSourceSync,
  resolveSubjectIncidents,
  worseSeverity,
  type Database,
  type SourceSyncRow,
} from '../store';
import { keepSendTimes, paceDelayMs, pageRequestLimit, type SourceName } from '../sources';
import type { RateLimit } from '../config';
import type { ActivityDeps } from './deps';
import { rethrowCounted } from './watchers/api-usage';
import { apiSecondsBetween } from '../store/api-calls';
import { reportAlert } from './alerts';
import { alertFor, type Notifier } from './notify';
import { createSourceAdapters, type SourceAdapter } from './sources';
import { crashPoint } from './crash-points';
import { inDryRun } from './dry-run';
import { routeUnalertedIncidents } from './unrouted-alerts';
import type { FetchedPage, RaisedIncident } from './sources/adapter';

export type SyncBegin =
  | { status: 'not_configured'; missing: string }
  | { status: 'busy'; holder: string }
  /** Synced successfully less than its minimum interval ago (config sources.<name>.minSyncIntervalMinutes). */
  | { status: 'recent'; reason: string }
  | { status: 'ready'; resumed: boolean; pages: number; items: number };

export interface SyncProgress {
  pages: number;
  items: number;
  done: boolean;
  /** When this run's page requests were answered (epoch ms), for the next page's pacing (pageRequestLimit). */
  sentAtMs?: number[];
}

export interface SyncPageArgs {
  source: SourceName;
  holder: string;
  /** The previous page's SyncProgress.sentAtMs. */
  sentAtMs?: number[];
}

export interface SyncEnd {
  source: SourceName;
  holder: string;
  /** paused: stopped early on purpose (page budget); the next run resumes. */
  outcome: 'failed' | 'skipped' | 'paused';
  error?: string;
  category?: string;
}

/** Writes are switched off: the page must not be written. A controls stop, never a failure. */
export class WritesDisabled extends OpsError {
  constructor() {
    super('Writes are disabled', 'kill_switch');
  }
}

const TITLES: Record<SourceName, string> = { notion: 'Notion', n8n: 'n8n', hubspot: 'HubSpot', chat: 'Telegram' };

export function createSyncActivities(deps: ActivityDeps, notifier: Notifier) {
  const { config, store, now } = deps;
  const adapters = createSourceAdapters(config);
  const db = store.db;
  const leaseMs = config.sources.leaseMinutes * 60_000;
  const adapter = (source: SourceName): SourceAdapter => adapters[source];

  /** Claims the source for this run, resuming an unfinished cursor. */
  async function claim(args: { source: SourceName; holder: string }): Promise<SyncBegin> {
    const source = adapter(args.source);
    if (source.missing) return { status: 'not_configured', missing: source.missing };
    const at = now();
    const claimed = await claimSourceSync(db, {
      source: args.source,
      holder: args.holder,
      now: at,
      leaseMs,
      startCursor: (watermark) => source.startCursor(watermark, at),
      minIntervalMs: config.sources[args.source].minSyncIntervalMinutes * 60_000,
    });
    if (claimed.status === 'busy') return { status: 'busy', holder: claimed.holder };
    if (claimed.status === 'recent') return { status: 'recent', reason: recentReason(args.source, claimed.lastSyncAt, at, config.sources[args.source].minSyncIntervalMinutes) };
    return { status: 'ready', resumed: claimed.resumed, pages: claimed.row.run_pages, items: claimed.row.run_items };
  }

  return {
    /** Claims the source for this run, resuming an unfinished cursor. */
    beginSourceSync: claim,

    /**
     * One page: read the cursor, one API request, then the items and the new cursor in one
     * transaction. Runs on the source's rate-limited task queue. A retry after a commit simply
     * takes the next page; a commit based on a stale read is refused and writes nothing.
     */
    async syncSourcePage(args: SyncPageArgs): Promise<SyncProgress> {
      // A dry run's claim (beginSourceSync) was rolled back with its activity: claim again, in
      // this one's transaction, so the page runs as the real one would.
      if (inDryRun() && (await claim(args)).status !== 'ready') return { pages: 0, items: 0, done: true };
      const row = await getSourceSync(db, args.source);
      if (!row) throw new OpsError(`${args.source} sync: no sync state; beginSourceSync must run first`, 'internal');
      if (row.lease_holder !== args.holder) {
        throw new OpsError(`${args.source} sync: this run no longer holds the source (now ${row.lease_holder ?? 'nobody'})`, 'internal');
      }
      if (row.status !== 'running' || row.cursor === null) {
        // Only n8n's pages raise incidents, under its own job (chat has none: no sync_chat).
        const own = `sync_${args.source}`;
        if (isJobName(own)) await routeUnalertedIncidents(deps, notifier, own);
        // A retry after the last page committed: the resolution may have been lost with the first try.
        if (row.consecutive_failures === 0 && row.last_sync_success === 1) await resolveSourceIncidents(db, args.source, `${args.source} synced (${args.holder})`, now());
        return progressOf(row, true);
      }
      await assertMayWrite(db);
      const raised: RaisedIncident[] = [];
      const limit = pageRequestLimit(config, args.source);
      // A run's first page also minds the requests just before it (a run right after another).
      const before = limit && args.sentAtMs === undefined ? await recentRequestTimes(db, args.source, limit, now()) : args.sentAtMs;
      const earlier = limit ? await paceRequest(limit, before) : undefined;
      let page: FetchedPage;
      try {
        page = await adapter(args.source).fetchPage(row.cursor, now()).catch(rethrowCounted(db, args.source, now));
      } finally {
        // A failed count must not hide the page's own outcome.
        await countApiCall(db, args.source, now()).catch(() => undefined);
      }
      // The answer's time, not the send's: the API counted the request no later than that, so
      // pacing from it holds whatever the request spent on its way (an event-loop or GC pause).
      const sentAtMs = limit && earlier ? keepSendTimes(limit, [...earlier, Date.now()]) : undefined;
      crashPoint('sync.after_fetch_before_commit');
      const committed = await commitSourcePage(db, {
        source: args.source,
        holder: args.holder,
        readVersion: row.version,
        now: now(),
        leaseMs,
        nextCursor: page.nextCursor,
        watermark: page.watermark,
        items: page.items,
        apply: async (tx) => {
          // Again inside the transaction: a page fetched before a kill switch is never written after it.
          await assertMayWrite(tx);
          await page.apply(tx, now(), raised);
        },
      });
      crashPoint('sync.after_commit_before_complete');
      for (const { id, incident } of raised) await alertFor(deps, notifier, id, incident);
      const done = committed.row.status !== 'running';
      if (done && committed.committed) await resolveSourceIncidents(db, args.source, `${args.source} synced (${args.holder})`, now());
      return { ...progressOf(committed.row, done), ...(sentAtMs ? { sentAtMs } : {}) };
    },

    /**
     * Ends a run that did not complete; reports the source's incidents through the lifecycle
     * (subject `source:<name>`: one open incident per source, whichever job synced it). A run
     * stopped early on purpose (paused) synced: the source's incidents are resolved. Runs even
     * under the kill switch.
     */
    async endSourceSync(end: SyncEnd): Promise<{ consecutiveFailures: number; alerted: boolean }> {
      const at = now();
      const row = await releaseSourceSync(db, { ...end, now: at });
      if (end.outcome === 'paused') await resolveSourceIncidents(db, end.source, `${end.source} synced (${end.holder})`, at);
      if (end.outcome !== 'failed') return { consecutiveFailures: row.consecutive_failures, alerted: false };
      const title = TITLES[end.source];
      const common = { subject: sourceSubject(end.source), job: syncingJob(end.source), relatedWorkflowId: end.holder, now: at };
      let alerted = false;
      const category = isErrorCategory(end.category) ? end.category : 'internal';
      const policy = CATEGORY_POLICIES[category];
      if (policy.alertAtOnce) {
        // The job wrapper sees this report (same run, same type) and adds none of its own.
        const raised = await reportAlert(deps, notifier, {
          ...common,
          type: `${category}_failure`,
          severity: policy.severity.first,
          title: category === 'auth' ? `${title} rejected the credentials` : `${title} sync: ${category} error, not retried`,
          body: `${end.error ?? ''}\nFix the cause, then run the sync again: it resumes where it stopped.`,
        });
        alerted = raised.alert;
      }
      if (row.consecutive_failures >= config.limits.consecutiveFailuresAlert) {
        const raised = await reportAlert(deps, notifier, {
          ...common,
          type: 'source_unreachable',
          severity: worseSeverity('WARN', failureSeverity(category, row.consecutive_failures)),
          title: `${title} sync failed ${row.consecutive_failures} times in a row`,
          body: `Last error (${end.category ?? 'unknown'}): ${end.error ?? ''}`,
        });
        alerted ||= raised.alert;
      }
      return { consecutiveFailures: row.consecutive_failures, alerted };
    },
  };
}

/** "n8n synced 12 min ago (at most one sync per 30 min)". */
export function recentReason(source: SourceName, lastSyncAt: string, now: Date, minMinutes: number): string {
  const ago = Math.max(0, Math.floor((now.getTime() - new Date(lastSyncAt).getTime()) / 60_000));
  return `${source} synced ${ago} min ago (at ${lastSyncAt}); at most one sync per ${minMinutes} min`;
}

/** The subject of a source's incidents. */
export const sourceSubject = (source: SourceName): string => `source:${source}`;

/** Incident types a sync reports on its source; a sync that completes resolves them. */
export const SOURCE_INCIDENT_TYPES: readonly string[] = ['source_unreachable', ...ERROR_CATEGORIES.map((c) => `${c}_failure`)];

/**
 * The job this activity runs for: the calling workflow's type when it is a job (periodic_scan
 * syncs every source, sync_<name> one), else the job that syncs the source on its own; chat has
 * no job of its own, periodic_scan syncs it.
 */
function syncingJob(source: SourceName): JobName {
  let workflowType: string | undefined;
  try {
    workflowType = activityInfo().workflowType;
  } catch {
    // Outside an activity (a script, a test).
  }
  if (workflowType && isJobName(workflowType)) return workflowType;
  const own = `sync_${source}`;
  return isJobName(own) ? own : 'periodic_scan';
}

/** The source synced: its open incidents cleared. */
async function resolveSourceIncidents(db: Kysely<Database>, source: SourceName, reason: string, at: Date): Promise<void> {
  await resolveSubjectIncidents(db, { subject: sourceSubject(source), types: SOURCE_INCIDENT_TYPES }, { actor: 'system', reason, now: at });
}

async function assertMayWrite(db: Kysely<Database>): Promise<void> {
  const controls = await readControls(db);
  if (controls?.killSwitch) throw new KillSwitchActive();
  if (controls && !controls.writeEnabled) throw new WritesDisabled();
}

/**
 * When the source's requests of the last window were answered, as real-clock epoch ms, from the
 * per-second counts every request leaves (api_request_windows): each at the end of its second,
 * the latest it can have been, so pacing from them is never too early.
 */
async function recentRequestTimes(db: Kysely<Database>, source: SourceName, limit: RateLimit, at: Date): Promise<number[]> {
  const from = new Date(at.getTime() - (limit.perSeconds + 1) * 1000);
  const seconds = await apiSecondsBetween(db, from, new Date(at.getTime() + 1000));
  // The store counts in the activities' clock (a test may move it); pacing waits in real time.
  const shift = Date.now() - at.getTime();
  return seconds
    .filter((s) => s.service === source)
    .flatMap((s) => Array.from({ length: Math.min(s.requests, limit.requests) }, () => (s.atSecond + 1) * 1000 + shift));
}

/**
 * Waits until a request may be sent under `limit`, given when the run's earlier requests were
 * answered (from the workflow: only finite numbers are kept, at most 100), and returns those.
 */
async function paceRequest(limit: RateLimit, before: unknown): Promise<number[]> {
  const earlier = Array.isArray(before) ? before.filter((t): t is number => typeof t === 'number' && Number.isFinite(t)).slice(-100) : [];
  const waitMs = Math.min(paceDelayMs(limit, earlier, Date.now()), limit.perSeconds * 1000 + 1000);
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  return earlier;
}

function progressOf(row: SourceSyncRow, done: boolean): SyncProgress {
  return done
    ? { pages: row.pages_synced, items: row.items_synced, done }
    : { pages: row.run_pages, items: row.run_items, done };
}

