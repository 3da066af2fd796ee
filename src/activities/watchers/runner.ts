/**
 * run_watchers' activities: one per watcher run. A watcher's findings become incidents through
 * the lifecycle (reportAlert: one open incident per type and subject, a recurrence counted on it,
 * one alert per type an hour), and its open incidents whose subject it no longer finds are
 * resolved with the reason it gives.
 */
import { OpsError, ValidationError } from '../../errors';
import { INCIDENT_LIMITS, resolveIncidentsOf } from '../../store';
import { INCIDENT_SEVERITIES } from '../../store/schema';
import { reportAlert } from '../alerts';
import type { ActivityDeps } from '../deps';
import type { Notifier } from '../notify';
import { WATCHERS } from './table';
import type { Watcher, WatcherFinding } from './types';

/** A watcher finding more than this is broken (or the world is): the rest wait for the next run. */
export const MAX_FINDINGS_PER_RUN = 100;

export const WATCHER_ACTOR = 'run_watchers';

export interface WatcherRun {
  watcher: string;
  incidentType: string;
  summary: string;
  findings: number;
  /** New incidents (alerted or held by the hourly limit). */
  opened: number;
  /** Findings counted on an incident already open. */
  recurred: number;
  resolved: number;
  /** Findings past MAX_FINDINGS_PER_RUN, not reported this run. */
  dropped?: number;
}

export function createWatcherActivities(deps: ActivityDeps, notifier: Notifier, watchers: readonly Watcher[] = WATCHERS) {
  const byName = new Map<string, Watcher>();
  for (const w of watchers) {
    if (byName.has(w.name)) throw new Error(`Two watchers are named "${w.name}": names must be unique`);
    byName.set(w.name, w);
  }
  return {
    /** The watchers to run, in table order (an activity, so the workflow never imports the table). */
    async listWatchers(): Promise<string[]> {
      return [...byName.keys()];
    },

    async runWatcher(input: { name: string }): Promise<WatcherRun> {
      const name = typeof input?.name === 'string' ? input.name : undefined;
      const watcher = name === undefined ? undefined : byName.get(name);
      if (!watcher) {
        throw new ValidationError(`runWatcher: unknown watcher ${JSON.stringify(name ?? input?.name ?? null)?.slice(0, 100)}; expected one of ${[...byName.keys()].join(', ')}`);
      }
      const now = deps.now();
      const { store, config, client, logger } = deps;
      const check = await watcher.check({ db: store.db, config, now, client, logger: logger.child({ watcher: watcher.name }), store });
      const valid = check.findings.map((f) => checkFinding(watcher, f));
      const reported = valid.slice(0, MAX_FINDINGS_PER_RUN);
      let opened = 0;
      let recurred = 0;
      for (const f of reported) {
        const raised = await reportAlert(deps, notifier, { type: watcher.incidentType, subject: f.subject, severity: f.severity, title: f.title, body: f.body, job: f.job, now });
        if (raised.created) opened += 1;
        else recurred += 1;
      }
      // Subjects past the cap are kept open too: not finding them reported is not finding them cleared.
      const keepSubjects = valid.map((f) => f.subject);
      const resolved = await resolveIncidentsOf(
        store.db,
        { type: watcher.incidentType, keepSubjects },
        { actor: WATCHER_ACTOR, reason: `${watcher.name}: ${check.cleared ?? 'back under its threshold'} (${check.summary})`, now },
      );
      const run: WatcherRun = {
        watcher: watcher.name,
        incidentType: watcher.incidentType,
        summary: check.summary,
        findings: valid.length,
        opened,
        recurred,
        resolved: resolved.length,
        ...(valid.length > reported.length ? { dropped: valid.length - reported.length } : {}),
      };
      logger.info(run, 'watcher ran');
      return run;
    },
  };
}

/** A watcher is our code, but what it hands over is checked like any input before it is stored. */
function checkFinding(watcher: Watcher, f: WatcherFinding): WatcherFinding {
  const problem =
    typeof f.subject !== 'string' || f.subject.length === 0 || f.subject.length > INCIDENT_LIMITS.subject
      ? `a subject of 1 to ${INCIDENT_LIMITS.subject} characters`
      : !(INCIDENT_SEVERITIES as readonly string[]).includes(f.severity)
        ? `a severity among ${INCIDENT_SEVERITIES.join(', ')}`
        : typeof f.title !== 'string' || f.title.length === 0
          ? 'a title'
          : typeof f.body !== 'string'
            ? 'a body'
            : undefined;
  if (problem) throw new OpsError(`watcher ${watcher.name} returned a finding without ${problem}: ${JSON.stringify(f).slice(0, 200)}`, 'internal');
  return f;
}
