/**
 * Spec 7.3: each API's calls in the last hour against the mean of the same hour of the trailing
 * baselineDays days -> INFO at +infoIncreasePercent, WARN at +warnIncreasePercent. Nothing before
 * that API has minBaselineDays of history (a new install, or a source just configured, has no
 * baseline), and nothing under minCalls in the hour (10 calls against a mean of 2 costs nothing).
 *
 * "The same hour" is the 60 minutes ending at now's time of day on each earlier day, read from
 * the per-second record: each is a range of its primary key, so the cost is 1 + baselineDays
 * windows of one hour (and one index seek per API for its history), whatever the table's size.
 */
import { apiRequestsByService, firstApiRequestAt } from '../../store/api-calls';
import type { Watcher, WatcherFinding } from './types';
import { DAY_MS, HOUR_MS, percentText } from './window';

export interface CostFigure {
  service: string;
  calls: number;
  /** Earlier days in the baseline: those the service's history reaches. */
  days: number;
  baselineMean: number;
  /** (calls - mean) / mean, in percent; Infinity when the mean is 0. */
  increasePercent: number;
}

export const costAnomalies: Watcher = {
  name: 'cost_anomalies',
  incidentType: 'cost_anomaly',
  async check({ db, config, now }) {
    const { baselineDays, minBaselineDays, minCalls, infoIncreasePercent, warnIncreasePercent } = config.watchers.costAnomalies;
    const current = await apiRequestsByService(db, new Date(now.getTime() - HOUR_MS), now);
    const byDay: Map<string, number>[] = [];
    const figures: CostFigure[] = [];
    for (const [service, calls] of current) {
      if (calls < minCalls) continue;
      const first = await firstApiRequestAt(db, service);
      // A day counts once the service's history reaches into that day's hour.
      const days: number[] = [];
      for (let d = 1; d <= baselineDays; d++) if (first && first.getTime() <= now.getTime() - d * DAY_MS) days.push(d);
      if (days.length < minBaselineDays) {
        figures.push({ service, calls, days: days.length, baselineMean: NaN, increasePercent: NaN });
        continue;
      }
      let total = 0;
      for (const d of days) {
        if (!byDay[d]) {
          const end = new Date(now.getTime() - d * DAY_MS);
          byDay[d] = await apiRequestsByService(db, new Date(end.getTime() - HOUR_MS), end);
        }
        total += byDay[d]!.get(service) ?? 0;
      }
      const baselineMean = total / days.length;
      const increasePercent = baselineMean === 0 ? Infinity : ((calls - baselineMean) / baselineMean) * 100;
      figures.push({ service, calls, days: days.length, baselineMean, increasePercent });
    }
    const findings: WatcherFinding[] = figures
      .filter((f) => f.increasePercent >= infoIncreasePercent)
      .map((f) => ({
        subject: `api:${f.service}`,
        severity: f.increasePercent >= warnIncreasePercent ? 'WARN' : 'INFO',
        title: `${f.service}: ${f.calls} API calls in the last hour, up ${percentText(f.increasePercent)} on its usual ${Math.round(f.baselineMean)}`,
        body:
          `${f.service} made ${f.calls} calls in the last hour against a mean of ${f.baselineMean.toFixed(1)} for this hour over ` +
          `the last ${f.days} days. INFO at +${infoIncreasePercent}%, WARN at +${warnIncreasePercent}% (from ${minCalls} calls an hour).`,
      }));
    const collecting = figures.filter((f) => Number.isNaN(f.increasePercent)).map((f) => `${f.service} (${f.days} of ${minBaselineDays} days)`);
    const quiet = `${current.size} APIs called, none over +${infoIncreasePercent}% of its baseline with ${minCalls}+ calls`;
    return {
      findings,
      summary: [findings.length === 0 ? quiet : `${findings.length} APIs above +${infoIncreasePercent}% of their baseline`, ...(collecting.length ? [`collecting a baseline: ${collecting.join(', ')}`] : [])].join('; '),
      cleared: `back within +${infoIncreasePercent}% of its baseline (or under ${minCalls} calls an hour)`,
    };
  },
};
