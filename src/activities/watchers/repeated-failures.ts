/**
 * Spec 7.1: N or more failures of the same action in the window -> WARN. An action is a job
 * (its failed runs in the audit log), an API endpoint (failed requests, 429s included, as
 * api-calls.ts records them) or a message channel (failed send attempts).
 */
import { sql } from 'kysely';
import type { Watcher, WatcherFinding } from './types';
import { minutesBefore } from './window';

export const repeatedFailures: Watcher = {
  name: 'repeated_failures',
  incidentType: 'repeated_failures',
  async check({ db, config, now }) {
    const { windowMinutes, threshold } = config.watchers.repeatedFailures;
    const since = minutesBefore(now, windowMinutes);
    // Each read is a range of a time-leading index (audit ts, api second, attempt started_at).
    const [jobs, endpoints, sends] = await Promise.all([
      db
        .selectFrom('agent_audit_log')
        .select((eb) => ['action', eb.fn.countAll<number>().as('n')])
        .where('ts', '>=', since.toISOString())
        .where('ts', '<=', now.toISOString())
        .where('outcome', '=', 'failed')
        .groupBy('action')
        .having((eb) => eb.fn.countAll(), '>=', threshold)
        .execute(),
      db
        .selectFrom('api_request_windows')
        .select((eb) => ['service', 'endpoint', eb.fn.sum<number>('failed').as('n'), eb.fn.sum<number>('throttled').as('throttled')])
        .where('at_second', '>=', Math.floor(since.getTime() / 1000))
        .where('at_second', '<=', Math.floor(now.getTime() / 1000))
        .groupBy(['service', 'endpoint'])
        .having((eb) => eb.fn.sum('failed'), '>=', threshold)
        .execute(),
      db
        .selectFrom('notification_attempts')
        .select((eb) => [sql<string>`coalesce(channel, 'none')`.as('channel'), eb.fn.countAll<number>().as('n')])
        .where('started_at', '>=', since.toISOString())
        .where('started_at', '<=', now.toISOString())
        .where('outcome', '=', 'failed')
        .groupBy('channel')
        .having((eb) => eb.fn.countAll(), '>=', threshold)
        .execute(),
    ]);
    const window = `in the last ${windowMinutes} min`;
    const findings: WatcherFinding[] = [
      ...jobs.map((r) => ({
        subject: `job:${r.action}`,
        severity: 'WARN' as const,
        job: r.action,
        title: `${r.action} failed ${Number(r.n)} times ${window}`,
        body: `${Number(r.n)} failed runs of ${r.action} ${window} (threshold ${threshold}). See \`opsctl runs\` for their errors.`,
      })),
      ...endpoints.map((r) => {
        const name = r.endpoint ? `${r.service} ${r.endpoint}` : r.service;
        const throttled = Number(r.throttled);
        return {
          subject: r.endpoint ? `endpoint:${r.service}.${r.endpoint}` : `endpoint:${r.service}`,
          severity: 'WARN' as const,
          title: `${name}: ${Number(r.n)} failed requests ${window}`,
          body: `${Number(r.n)} requests to ${name} failed ${window} (threshold ${threshold})${throttled ? `, ${throttled} of them HTTP 429` : ''}.`,
        };
      }),
      ...sends.map((r) => ({
        subject: `send:${r.channel}`,
        severity: 'WARN' as const,
        title: `${r.channel}: ${Number(r.n)} failed sends ${window}`,
        body: `${Number(r.n)} message sends through ${r.channel} failed ${window} (threshold ${threshold}).`,
      })),
    ];
    return {
      findings,
      summary: findings.length === 0 ? `no action failed ${threshold}+ times ${window}` : `${findings.length} actions failed ${threshold}+ times ${window}`,
      cleared: `under ${threshold} failures ${window}`,
    };
  },
};
