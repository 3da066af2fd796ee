import { statfs } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { sql } from 'kysely';
import { insertHealthCheck, writeTransaction } from '../store';
import type { ActivityDeps } from './deps';
import { raiseAlert, type Notifier } from './notify';

export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  detail?: string;
  [key: string]: unknown;
}

export interface HealthReport {
  store: CheckResult;
  temporal: CheckResult;
  disk: CheckResult;
  controls: { killSwitch: boolean; jobsEnabled: boolean; commsEnabled: boolean; writeEnabled: boolean };
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

/** Checks never throw: a failed check is a finding, reported in the health record. */
export function createHealthActivities(deps: ActivityDeps, notifier: Notifier) {
  const { store, client, config, now } = deps;
  return {
    /**
     * Whether the store takes writes: on SQLite another process can hold the write lock while
     * reads go on, and a `select 1` would call that store healthy.
     */
    async checkStore(): Promise<CheckResult> {
      return timed(async () => {
        await writeTransaction(store.db, (tx) => sql`select 1`.execute(tx));
      });
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

    /** One health record per run; a WARN incident at most once per configured period when degraded. */
    async recordHealth(args: { workflowId: string; report: HealthReport }): Promise<{ healthy: boolean; alerted: boolean }> {
      const { report } = args;
      const failing = (['store', 'temporal', 'disk'] as const).filter((k) => !report[k].ok);
      const healthy = failing.length === 0;
      const at = now();
      await insertHealthCheck(store.db, {
        ts: at.toISOString(),
        workflow_id: args.workflowId,
        healthy: healthy ? 1 : 0,
        checks: JSON.stringify(report),
      });
      if (healthy) return { healthy, alerted: false };
      const incident = await raiseAlert(deps, notifier, {
        type: 'health_alert',
        severity: 'WARN',
        title: 'System Health Degraded',
        body: failing.map((k) => `${k}: ${report[k].detail ?? 'failed'}`).join('\n'),
        job: 'health_monitor',
        relatedWorkflowId: args.workflowId,
        dedupeKey: 'health_alert',
        dedupeWindowMs: config.limits.healthAlertEveryMinutes * 60_000,
        now: at,
      });
      return { healthy, alerted: incident.created };
    },
  };
}
