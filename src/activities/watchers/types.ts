/**
 * The contract every watcher of run_watchers implements. A watcher only looks and reports what it
 * sees; the runner turns findings into incidents (reportAlert) and resolves the ones that cleared.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import type { Store } from '../../store';
import type { Database, Severity } from '../../store/schema';

/** One threshold crossed. `subject` keys the incident: one open incident per (incidentType, subject). */
export interface WatcherFinding {
  subject: string;
  severity: Severity;
  title: string;
  body: string;
  /** The job the finding is about, when there is one (recorded on the incident). */
  job?: string;
}

export interface WatcherContext {
  db: Kysely<Database>;
  config: Config;
  /** The run's clock: every window is measured back from here, never from Date.now(). */
  now: Date;
  client: Client;
  logger: Logger;
  store: Store;
}

export interface WatcherCheck {
  findings: WatcherFinding[];
  /** One line for the run's output, e.g. "3 sources under 80% of their limit". */
  summary: string;
  /**
   * Why an open incident of this type whose subject is not among the findings is resolved now,
   * e.g. "under 3 failures in the last 30 min". Without it the runner says "back under threshold".
   */
  cleared?: string;
}

export interface Watcher {
  /** Unique across the table; the runner's activity input names a watcher by it. */
  name: string;
  /** The incident type its findings are raised (and resolved) under. */
  incidentType: string;
  check(ctx: WatcherContext): Promise<WatcherCheck>;
}
