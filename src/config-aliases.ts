/**
 * The spec's own cadence keys, accepted as aliases of ours (jobs.<job>.every / at):
 *   jobs.<job>.interval_minutes          -> jobs.<job>.every  (minutes)
 *   jobs.<job>.time                      -> jobs.<job>.at     ("HH:MM")
 *   sources.notion.scan_interval_minutes -> jobs.sync_notion.every
 *   sources.n8n.scan_interval_minutes    -> jobs.sync_n8n.every
 *   sources.hubspot.poll_interval_minutes -> jobs.sync_hubspot.every
 *   watchers.checkIntervalMinutes        -> jobs.run_watchers.every
 *   retry_queue.checkIntervalSeconds     -> jobs.process_retry_queue.every (seconds)
 * None takes precedence: keys that name the same job's cadence must agree (30 minutes and 30m do),
 * or the config is refused naming both. The cadence bounds (intervalProblem) apply to aliases too.
 */
import { JOB_NAMES, jobRow, type Cadence, type JobName } from './jobs';
import { durationMs, intervalProblem } from './schedules/table';
import type { SourceName } from './sources';

export interface AliasIssue {
  /** The dotted key the problem is about, as the config file spells it. */
  key: string;
  message: string;
}

/** The key each sync job's source uses in the spec. */
const SOURCE_INTERVAL_KEYS: Partial<Record<SourceName, string>> = {
  notion: 'scan_interval_minutes',
  n8n: 'scan_interval_minutes',
  hubspot: 'poll_interval_minutes',
};

interface Alias {
  path: readonly string[];
  job: JobName;
  /** The cadence the value stands for, or why it cannot be one. */
  read: (value: unknown) => Cadence | { problem: string };
}

const CLOCK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

function interval(unit: 'm' | 's', unitName: string) {
  return (value: unknown): Cadence | { problem: string } => {
    const n = typeof value === 'string' && /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) {
      return { problem: `expected a whole number of ${unitName} above 0, got ${shown(value)}` };
    }
    const every = `${n}${unit}`;
    const problem = intervalProblem(every);
    return problem ? { problem } : { every };
  };
}

function clockTime(value: unknown): Cadence | { problem: string } {
  return typeof value === 'string' && CLOCK_TIME.test(value) ? { at: value } : { problem: `expected HH:MM (24-hour), got ${shown(value)}` };
}

const minutes = interval('m', 'minutes');

export const CADENCE_ALIASES: readonly Alias[] = [
  ...JOB_NAMES.flatMap((job): Alias[] => [
    { path: ['jobs', job, 'interval_minutes'], job, read: minutes },
    { path: ['jobs', job, 'time'], job, read: clockTime },
  ]),
  ...JOB_NAMES.flatMap((job): Alias[] => {
    const source = jobRow(job).syncs;
    const key = source && SOURCE_INTERVAL_KEYS[source];
    return source && key ? [{ path: ['sources', source, key], job, read: minutes }] : [];
  }),
  { path: ['watchers', 'checkIntervalMinutes'], job: 'run_watchers', read: minutes },
  { path: ['retry_queue', 'checkIntervalSeconds'], job: 'process_retry_queue', read: interval('s', 'seconds') },
];

/** The top-level key that exists only to hold an alias; anything else under it is refused here. */
const ALIAS_ONLY_ROOTS = ['retry_queue'];

/**
 * Rewrites the aliases in a raw config (file and environment merged, before the schema) into our
 * keys, in place, and says what is wrong. Alias keys are always removed, so the strict schema never
 * reports them as unknown; a bad or conflicting one is reported here instead, under its own key.
 */
export function applyCadenceAliases(raw: Record<string, unknown>): AliasIssue[] {
  const issues: AliasIssue[] = [];
  const found = new Map<JobName, { key: string; cadence: Cadence }[]>();
  for (const alias of CADENCE_ALIASES) {
    const parent = objectAt(raw, alias.path.slice(0, -1));
    const leaf = alias.path[alias.path.length - 1]!;
    if (!parent || !Object.hasOwn(parent, leaf)) continue;
    const value = parent[leaf];
    delete parent[leaf];
    const key = alias.path.join('.');
    const read = alias.read(value);
    if ('problem' in read) {
      issues.push({ key, message: read.problem });
      continue;
    }
    found.set(alias.job, [...(found.get(alias.job) ?? []), { key, cadence: read }]);
  }
  for (const root of ALIAS_ONLY_ROOTS) {
    const node = raw[root];
    if (!Object.hasOwn(raw, root)) continue;
    if (isObject(node)) {
      for (const other of Object.keys(node)) issues.push({ key: `${root}.${other}`, message: `unrecognized key: only the spec's ${aliasLeaves(root)} is read under ${root}` });
    } else {
      issues.push({ key: root, message: `expected a mapping with ${aliasLeaves(root)}` });
    }
    delete raw[root];
  }
  for (const [job, given] of found) {
    const ours = ourCadence(raw, job);
    const all = ours ? [ours, ...given] : given;
    const first = all[0]!;
    const clash = all.find((g) => !sameCadence(g.cadence, first.cadence));
    if (clash) {
      issues.push({
        key: clash.key,
        message: `${describeCadence(clash.cadence)} disagrees with ${first.key} (${describeCadence(first.cadence)}): both set ${job}'s cadence; keep one`,
      });
      continue;
    }
    if (!ours) setCadence(raw, job, first.cadence);
  }
  return issues;
}

/** Our own key for the job's cadence, when the raw config gives one we can compare. */
function ourCadence(raw: Record<string, unknown>, job: JobName): { key: string; cadence: Cadence } | undefined {
  const node = objectAt(raw, ['jobs', job]);
  if (!node) return undefined;
  // A malformed value of ours is the schema's to report; it still counts as "given" for a clash.
  if (Object.hasOwn(node, 'every')) return { key: `jobs.${job}.every`, cadence: { every: String(node.every) } };
  if (Object.hasOwn(node, 'at')) return { key: `jobs.${job}.at`, cadence: { at: String(node.at) } };
  return undefined;
}

function setCadence(raw: Record<string, unknown>, job: JobName, cadence: Cadence): void {
  if (!isObject(raw.jobs)) {
    // jobs given as something else (a list, a number): the schema reports that; add nothing.
    if (Object.hasOwn(raw, 'jobs')) return;
    raw.jobs = {};
  }
  const jobs = raw.jobs as Record<string, unknown>;
  if (!Object.hasOwn(jobs, job)) jobs[job] = {};
  const node = jobs[job];
  if (!isObject(node)) return;
  Object.assign(node, cadence);
}

function sameCadence(a: Cadence, b: Cadence): boolean {
  if ('every' in a && 'every' in b) return a.every === b.every || (intervalProblem(a.every) === undefined && intervalProblem(b.every) === undefined && durationMs(a.every) === durationMs(b.every));
  if ('at' in a && 'at' in b) return a.at === b.at;
  return false;
}

function describeCadence(c: Cadence): string {
  return 'every' in c ? `every ${clipText(c.every)}` : `daily at ${clipText(c.at)}`;
}

function aliasLeaves(root: string): string {
  return CADENCE_ALIASES.filter((a) => a.path[0] === root)
    .map((a) => a.path.slice(1).join('.'))
    .join(', ');
}

function objectAt(raw: Record<string, unknown>, path: readonly string[]): Record<string, unknown> | undefined {
  let node: unknown = raw;
  for (const key of path) {
    if (!isObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return isObject(node) ? node : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(clipText(value));
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'a list' : 'a mapping';
}

function clipText(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
