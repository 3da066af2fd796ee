/**
 * Spec 7.4: the store's mean response time over the window, measured on the real queries of this
 * process (store/timing.ts, fed by Kysely's log hook) -> WARN above avgMsThreshold. Too few
 * samples say nothing: a single slow query at night is not a degradation.
 */
import type { Watcher } from './types';
import { MINUTE_MS } from './window';

export const performanceDegradation: Watcher = {
  name: 'performance',
  incidentType: 'performance_degradation',
  async check({ store, config, now }) {
    const { windowMinutes, avgMsThreshold, minSamples } = config.watchers.performance;
    const { samples, meanMs, maxMs } = store.timing.summary(now.getTime() - windowMinutes * MINUTE_MS, now.getTime());
    const figure = `${samples} store queries in the last ${windowMinutes} min, mean ${Math.round(meanMs)} ms (max ${Math.round(maxMs)} ms)`;
    const slow = samples >= minSamples && meanMs > avgMsThreshold;
    return {
      findings: slow
        ? [
            {
              subject: `store:${store.dialect}`,
              severity: 'WARN',
              title: `Store queries slow: mean ${Math.round(meanMs)} ms over ${windowMinutes} min`,
              body: `${figure}; the threshold is a mean over ${avgMsThreshold} ms from ${minSamples} queries. Measured in the worker that ran this check.`,
            },
          ]
        : [],
      summary: samples < minSamples ? `${figure}: under ${minSamples} samples, not judged` : figure,
      cleared: `mean store query time back under ${avgMsThreshold} ms`,
    };
  },
};
