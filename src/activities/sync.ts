/**
 * The sync engine: a run claims a source, commits it page by page (one API request and one
 * transaction per page, plus the request's api_calls count), and ends by releasing it. The cursor lives in data_source_sync, so
 * after a crash the next attempt or run continues from the last committed page.
 */
import type { Kysely } from 'kysely';
import { KillSwitchActive, OpsError } from '../errors';
import { CATEGORY_POLICIES, isErrorCategory } from '../policies';
import {
  claimSourceSync,
  commitSourcePage,
  countApiCall,
  getSourceSync,
  readControls,
  releaseSourceSync,
  type Database,
  type SourceSyncRow,
} from '../store';
import type { SourceName } from '../sources';
import type { ActivityDeps } from './deps';
import { rethrowCounted } from './watchers/api-usage';
import { alertFor, raiseAlert, type Notifier } from './notify';
import { createSourceAdapters, type SourceAdapter } from './sources';
import { crashPoint } from './crash-points';
import { routeUnalertedIncidents } from './unrouted-alerts';
import type { FetchedPage, RaisedIncident } from './sources/adapter';

const HOUR_MS = 3600_000;

export type SyncBegin =
  | { status: 'not_configured'; missing: string }
  | { status: 'busy'; holder: string }
  | { status: 'ready'; resumed: boolean; pages: number; items: number };

export interface SyncProgress {
  pages: number;
  items: number;
  done: boolean;
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

  return {
    /** Claims the source for this run, resuming an unfinished cursor. */
    async beginSourceSync(args: { source: SourceName; holder: string }): Promise<SyncBegin> {
      const source = adapter(args.source);
      if (source.missing) return { status: 'not_configured', missing: source.missing };
      const at = now();
      const claim = await claimSourceSync(db, {
        source: args.source,
        holder: args.holder,
        now: at,
        leaseMs,
        startCursor: (watermark) => source.startCursor(watermark, at),
      });
      if (claim.status === 'busy') return { status: 'busy', holder: claim.holder };
      return { status: 'ready', resumed: claim.resumed, pages: claim.row.run_pages, items: claim.row.run_items };
    },

    /**
     * One page: read the cursor, one API request, then the items and the new cursor in one
     * transaction. Runs on the source's rate-limited task queue. A retry after a commit simply
     * takes the next page; a commit based on a stale read is refused and writes nothing.
     */
    async syncSourcePage(args: { source: SourceName; holder: string }): Promise<SyncProgress> {
      const row = await getSourceSync(db, args.source);
      if (!row) throw new OpsError(`${args.source} sync: no sync state; beginSourceSync must run first`, 'internal');
      if (row.lease_holder !== args.holder) {
        throw new OpsError(`${args.source} sync: this run no longer holds the source (now ${row.lease_holder ?? 'nobody'})`, 'internal');
      }
      if (row.status !== 'running' || row.cursor === null) {
        await routeUnalertedIncidents(deps, notifier, `sync_${args.source}`);
        return progressOf(row, true);
      }
      await assertMayWrite(db);
      const raised: RaisedIncident[] = [];
      let page: FetchedPage;
      try {
        page = await adapter(args.source).fetchPage(row.cursor, now()).catch(rethrowCounted(db, args.source, now));
      } finally {
        // A failed count must not hide the page's own outcome.
        await countApiCall(db, args.source, now()).catch(() => undefined);
      }
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
      return progressOf(committed.row, committed.row.status !== 'running');
    },

    /** Ends a run that did not complete; raises the source's alerts. Runs even under the kill switch. */
    async endSourceSync(end: SyncEnd): Promise<{ consecutiveFailures: number; alerted: boolean }> {
      const at = now();
      const row = await releaseSourceSync(db, { ...end, now: at });
      if (end.outcome !== 'failed') return { consecutiveFailures: row.consecutive_failures, alerted: false };
      const title = TITLES[end.source];
      const common = { severity: 'WARN' as const, job: `sync_${end.source}`, relatedWorkflowId: end.holder, dedupeWindowMs: HOUR_MS, now: at };
      let alerted = false;
      const category = isErrorCategory(end.category) ? end.category : 'internal';
      if (CATEGORY_POLICIES[category].alertAtOnce) {
        // The same key as the job wrapper's alert for this category: one incident, not two.
        const raised = await raiseAlert(deps, notifier, {
          ...common,
          type: `${category}_failure`,
          severity: CATEGORY_POLICIES[category].alertSeverity,
          title: category === 'auth' ? `${title} rejected the credentials` : `${title} sync: ${category} error, not retried`,
          body: `${end.error ?? ''}\nFix the cause, then run the sync again: it resumes where it stopped.`,
          dedupeKey: `${category}_failure:sync_${end.source}`,
        });
        alerted = raised.created;
      }
      if (row.consecutive_failures >= config.limits.consecutiveFailuresAlert) {
        const raised = await raiseAlert(deps, notifier, {
          ...common,
          type: 'source_unreachable',
          title: `${title} sync failed ${row.consecutive_failures} times in a row`,
          body: `Last error (${end.category ?? 'unknown'}): ${end.error ?? ''}`,
          dedupeKey: `source.failing.${end.source}`,
        });
        alerted ||= raised.created;
      }
      return { consecutiveFailures: row.consecutive_failures, alerted };
    },
  };
}

async function assertMayWrite(db: Kysely<Database>): Promise<void> {
  const controls = await readControls(db);
  if (controls?.killSwitch) throw new KillSwitchActive();
  if (controls && !controls.writeEnabled) throw new WritesDisabled();
}

function progressOf(row: SourceSyncRow, done: boolean): SyncProgress {
  return done
    ? { pages: row.pages_synced, items: row.items_synced, done }
    : { pages: row.run_pages, items: row.run_items, done };
}

