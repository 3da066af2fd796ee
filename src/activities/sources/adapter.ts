import type { Kysely } from 'kysely';
import type { Database, NewIncident, SourceName } from '../../store';

export interface RaisedIncident {
  id: number;
  incident: NewIncident;
}

/** One fetched page, ready to commit: its writes, and where the run goes next. */
export interface FetchedPage {
  /** Items the page carried that the source keeps (e.g. canonical pages, the operator's messages). */
  items: number;
  /**
   * Writes the page's items, inside the transaction that also advances the cursor. Incidents it
   * creates go into `raised`: their alerts are routed once the transaction has committed.
   */
  apply(tx: Kysely<Database>, now: Date, raised: RaisedIncident[]): Promise<void>;
  /** The cursor after this page (JSON); null when the run is complete. */
  nextCursor: string | null;
  /** On the last page: where the next run starts (JSON). */
  watermark?: string;
}

/**
 * A data source, as the sync engine sees it. fetchPage makes exactly one API request, so one
 * page is one activity, and the task queue's rate limit is the API's.
 */
export interface SourceAdapter {
  readonly source: SourceName;
  /** The missing setting when the source is not configured. */
  readonly missing: string | undefined;
  /** The cursor a new run starts from, given the last completed run's watermark. */
  startCursor(watermark: string | null, now: Date): string;
  fetchPage(cursor: string, now: Date): Promise<FetchedPage>;
}

/** Cursor and watermark columns hold JSON written by the same adapter; a bad one is a bug, named. */
export function readState<T>(source: SourceName, what: string, json: string | null, fallback: T): T {
  if (json === null) return fallback;
  try {
    return { ...fallback, ...(JSON.parse(json) as T) };
  } catch {
    throw new Error(`${source} sync: stored ${what} is not JSON: ${json.slice(0, 80)}`);
  }
}
