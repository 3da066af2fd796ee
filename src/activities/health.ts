/**
 * Spec job 10's checks and its report. Every check answers, none throws: a failed check is a
 * finding. None needs the store to answer (see HEALTH_ACTIVITY_NAMES): the store being down is
 * one of the things they must be able to say.
 */
import { mkdir, statfs } from 'node:fs/promises';
import { Client as NotionClient, isHTTPResponseError, RequestTimeoutError } from '@notionhq/client';
import { sql } from 'kysely';
import { missingSourceSettings } from '../config';
import { TransientError, ValidationError } from '../errors';
import { HubSpotSource } from '../integrations/hubspot';
import { headerOf, httpFailure } from '../integrations/http';
import { N8nSource } from '../integrations/n8n';
import type { SourceName } from '../sources';
import {
  countApiCall,
  insertHealthCheck,
  listOpenIncidents,
  resolveIncidentsOf,
  withStoreWaitLimit,
  writeTransaction,
} from '../store';
import { reportAlert } from './alerts';
import type { ActivityDeps } from './deps';
import { startDirectAlert, within, type DirectAlertStarted } from './direct-alert';
import type { Notifier } from './notify';

export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  detail?: string;
  [key: string]: unknown;
}

/** The APIs the spec names for the health check (the chat's Telegram bot is a channel, not checked here). */
export const API_SOURCES = ['notion', 'n8n', 'hubspot'] as const satisfies readonly SourceName[];
export type ApiSource = (typeof API_SOURCES)[number];

/** An API that is not configured is neither healthy nor unhealthy: it is not there. */
export type ApiCheck = ({ configured: true } & CheckResult) | { configured: false; missing: string };

export interface HealthReport {
  store: CheckResult;
  temporal: CheckResult;
  disk: CheckResult;
  /** Absent in runs recorded before the API checks existed. */
  apis?: Partial<Record<ApiSource, ApiCheck>>;
  controls: { killSwitch: boolean; jobsEnabled: boolean; commsEnabled: boolean; writeEnabled: boolean };
}

export type HealthRecorded = {
  healthy: boolean;
  /** Whether this run's report routed the health alert (at most one per hour: the incident lifecycle). */
  alerted: boolean;
  incidentId?: number;
  /** Health alerts this run resolved (it was healthy again). */
  resolved: number[];
};

const CORE_CHECKS = ['store', 'temporal', 'disk'] as const;
type Component = (typeof CORE_CHECKS)[number] | ApiSource;
const COMPONENTS: readonly Component[] = [...CORE_CHECKS, ...API_SOURCES];

export const HEALTH_ALERT = { type: 'health_alert', subject: 'system', title: 'System Health Degraded' } as const;

/** An API check is a health check, not a sync: it must answer well before a sync page would. */
const API_CHECK_TIMEOUT_MS = 10_000;
/** How long the store check waits for a locked or unreachable store before calling it down. */
const STORE_CHECK_TIMEOUT_MS = 10_000;
/** Counting the check's API call must not keep a check waiting behind a locked store. */
const COUNT_WAIT_MS = 500;

/** The checks that failed, core checks first; an unconfigured API is not one of them. */
export function failingChecks(report: HealthReport): Component[] {
  return COMPONENTS.filter((name) => {
    const check = component(report, name);
    return check !== undefined && 'ok' in check && !check.ok;
  });
}

function component(report: HealthReport, name: Component): CheckResult | ApiCheck | undefined {
  return (CORE_CHECKS as readonly string[]).includes(name) ? report[name as (typeof CORE_CHECKS)[number]] : report.apis?.[name as ApiSource];
}

/** One line per failing check (`name: why`), then what is fine and what is not configured. */
export function formatHealthReport(report: HealthReport): string {
  const lines = failingChecks(report).map((name) => `${name}: ${(component(report, name) as CheckResult).detail ?? 'failed'}`);
  const ok = COMPONENTS.filter((name) => {
    const check = component(report, name);
    return check !== undefined && 'ok' in check && check.ok;
  });
  const unconfigured = API_SOURCES.filter((name) => report.apis?.[name]?.configured === false);
  if (ok.length) lines.push(`OK: ${ok.join(', ')}`);
  if (unconfigured.length) lines.push(`Not configured: ${unconfigured.join(', ')}`);
  return lines.join('\n');
}

/** The checks a health alert's body names as failing (formatHealthReport's `name:` lines). */
function failingIn(body: string): Component[] {
  const lines = body.split('\n');
  return COMPONENTS.filter((name) => lines.some((line) => line.startsWith(`${name}: `)));
}

async function timed(fn: () => Promise<Record<string, unknown> | void>): Promise<CheckResult> {
  const started = performance.now();
  try {
    const extra = (await fn()) ?? {};
    return { ok: true, latencyMs: Math.round(performance.now() - started), ...extra };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), detail: (err as Error).message };
  }
}

/** One cheap authenticated read per API: the token's own user, one execution, one contact. */
function apiProbes(deps: ActivityDeps): Record<ApiSource, (() => Promise<void>) | undefined> {
  const { sources } = deps.config;
  const timeoutMs = Math.min(sources.pageTimeoutMs, API_CHECK_TIMEOUT_MS);
  const notion = sources.notion.token
    ? new NotionClient({ auth: sources.notion.token, baseUrl: sources.notion.baseUrl, timeoutMs, retry: false, logger: () => undefined })
    : undefined;
  const n8n =
    sources.n8n.baseUrl && sources.n8n.apiKey
      ? new N8nSource({ baseUrl: sources.n8n.baseUrl, apiKey: sources.n8n.apiKey, pageSize: 1, timeoutMs })
      : undefined;
  const hubspot = sources.hubspot.token ? new HubSpotSource({ token: sources.hubspot.token, baseUrl: sources.hubspot.baseUrl, pageSize: 1 }) : undefined;
  return {
    notion: notion
      ? async () => {
          try {
            await notion.users.me({});
          } catch (err) {
            if (isHTTPResponseError(err)) throw httpFailure('Notion', err.status, err.message, headerOf(err.headers, 'retry-after'));
            if (RequestTimeoutError.isRequestTimeoutError(err)) throw new TransientError(`Notion request timed out: ${err.message}`);
            throw err;
          }
        }
      : undefined,
    n8n: n8n ? () => n8n.ping() : undefined,
    hubspot: hubspot ? () => hubspot.ping() : undefined,
  };
}

export function createHealthActivities(deps: ActivityDeps, notifier: Notifier) {
  const { store, client, config, now, logger } = deps;
  const probes = apiProbes(deps);
  return {
    /**
     * Whether the store takes writes: on SQLite another process can hold the write lock while
     * reads go on, and a `select 1` would call that store healthy. Bounded, so a store that never
     * answers a connect is reported down, not waited for.
     */
    async checkStore(): Promise<CheckResult> {
      return timed(() =>
        within(STORE_CHECK_TIMEOUT_MS, 'store', async () => {
          await writeTransaction(store.db, (tx) => sql`select 1`.execute(tx));
        }),
      );
    },

    async checkTemporal(): Promise<CheckResult> {
      return timed(async () => {
        await client.workflowService.getSystemInfo({});
      });
    },

    async checkDisk(): Promise<CheckResult> {
      return timed(async () => {
        await mkdir(config.dataDir, { recursive: true });
        const stats = await statfs(config.dataDir);
        const freeMb = Math.floor((stats.bavail * stats.bsize) / 1024 / 1024);
        if (freeMb < config.limits.minFreeDiskMb) {
          throw new Error(`only ${freeMb} MB free in ${config.dataDir} (minimum ${config.limits.minFreeDiskMb} MB)`);
        }
        return { freeMb };
      });
    },

    /**
     * One cheap authenticated read of a configured API. Runs on the source's own task queue, so
     * the check shares the API's rate limit with its sync. The call is counted like a sync's.
     */
    async checkSourceApi(args: { source: ApiSource }): Promise<ApiCheck> {
      if (!(API_SOURCES as readonly string[]).includes(args?.source)) {
        throw new ValidationError(`checkSourceApi: source must be one of ${API_SOURCES.join(', ')}, got ${JSON.stringify(args?.source)}`);
      }
      const { source } = args;
      const probe = probes[source];
      if (!probe) return { configured: false, missing: missingSourceSettings(config, source) ?? 'its settings' };
      const result = await timed(() => within(API_CHECK_TIMEOUT_MS + 1000, source, probe));
      const outcome = { failed: !result.ok, throttled: result.detail?.includes('HTTP 429') ?? false };
      await withStoreWaitLimit(COUNT_WAIT_MS, () => countApiCall(store.db, source, now(), outcome)).catch((err: unknown) => {
        logger.debug({ source, error: (err as Error).message }, 'health check API call not counted');
      });
      return { configured: true, ...result };
    },

    /**
     * One health record per run. Degraded: the health alert through the incident lifecycle (one
     * open per key, one alert per type per hour). Healthy: the open health alert is resolved,
     * naming what recovered.
     */
    async recordHealth(args: { workflowId: string; report: HealthReport }): Promise<HealthRecorded> {
      const { report, workflowId } = args;
      const healthy = failingChecks(report).length === 0;
      const at = now();
      await insertHealthCheck(store.db, {
        ts: at.toISOString(),
        workflow_id: workflowId,
        healthy: healthy ? 1 : 0,
        checks: JSON.stringify(report),
      });
      if (healthy) {
        const open = await listOpenIncidents(store.db, { type: HEALTH_ALERT.type, subject: HEALTH_ALERT.subject });
        if (open.length === 0) return { healthy, alerted: false, resolved: [] };
        const recovered = [...new Set(open.flatMap((incident) => failingIn(incident.body)))];
        const reason = `health OK again: ${recovered.length ? recovered.join(', ') : 'every check'} recovered (run ${workflowId})`;
        const resolved = await resolveIncidentsOf(
          store.db,
          { type: HEALTH_ALERT.type, subjects: [HEALTH_ALERT.subject] },
          { actor: 'health_monitor', reason, now: at },
        );
        return { healthy, alerted: false, resolved: resolved.map((r) => r.id) };
      }
      const raised = await reportAlert(deps, notifier, {
        ...HEALTH_ALERT,
        severity: 'WARN',
        body: formatHealthReport(report),
        job: 'health_monitor',
        relatedWorkflowId: workflowId,
        now: at,
      });
      return { healthy, alerted: raised.alert, incidentId: raised.id, resolved: [] };
    },

    /**
     * The store could not take the health alert: it goes to the operator's channel directly, as
     * SEV1, at most once per alert window, deduplicated by Temporal instead of the store.
     */
    async alertHealthDirect(args: { workflowId: string; report: HealthReport; storeError: string }): Promise<DirectAlertStarted> {
      const { report, workflowId, storeError } = args;
      return startDirectAlert(deps, {
        kind: HEALTH_ALERT.type,
        title: `${HEALTH_ALERT.title} (the store cannot record it)`,
        body: `${formatHealthReport(report)}\nThe store did not take the alert: ${storeError}`,
        workflowId,
        // Listed and resolved like any health alert once the store is back.
        incident: { subject: HEALTH_ALERT.subject, job: 'health_monitor' },
      });
    },
  };
}

export type HealthActivities = ReturnType<typeof createHealthActivities>;

/**
 * Every health activity, so none reads the controls from the store at the activity boundary: a
 * check must say the store is down, not fail because it is. The compiler keeps this complete.
 */
const HEALTH_ACTIVITIES: Record<keyof HealthActivities, true> = {
  checkStore: true,
  checkTemporal: true,
  checkDisk: true,
  checkSourceApi: true,
  recordHealth: true,
  alertHealthDirect: true,
};
export const HEALTH_ACTIVITY_NAMES: ReadonlySet<string> = new Set(Object.keys(HEALTH_ACTIVITIES));
