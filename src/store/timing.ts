/**
 * Store response times measured on the queries the process really runs (Kysely's `log` hook),
 * kept in a bounded ring: the performance watcher reads the mean over its window from here.
 */
import type { LogEvent } from 'kysely';

export interface QuerySample {
  /** When the query ended, ms since the epoch. */
  at: number;
  durationMs: number;
}

export interface QueryTimingSummary {
  samples: number;
  meanMs: number;
  maxMs: number;
}

/** Enough for minutes of a busy worker; the oldest sample is dropped first. */
export const DEFAULT_TIMING_CAPACITY = 10_000;

export class QueryTimings {
  private readonly ring: QuerySample[] = [];
  private next = 0;

  constructor(
    readonly capacity = DEFAULT_TIMING_CAPACITY,
    private readonly clock: () => number = Date.now,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`QueryTimings capacity must be a positive integer, got ${capacity}`);
  }

  record(durationMs: number, at = this.clock()): void {
    if (!Number.isFinite(durationMs) || durationMs < 0) return;
    const sample = { at, durationMs };
    if (this.ring.length < this.capacity) this.ring.push(sample);
    else this.ring[this.next] = sample;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Kysely's `log` option: every query, failed ones too (a slow failure is still slow). */
  readonly onLog = (event: LogEvent): void => this.record(event.queryDurationMillis);

  /** The samples in [from, to] (ms since the epoch). */
  summary(from: number, to: number): QueryTimingSummary {
    let samples = 0;
    let total = 0;
    let maxMs = 0;
    for (const s of this.ring) {
      if (s.at < from || s.at > to) continue;
      samples += 1;
      total += s.durationMs;
      maxMs = Math.max(maxMs, s.durationMs);
    }
    return { samples, meanMs: samples === 0 ? 0 : total / samples, maxMs };
  }

  get size(): number {
    return this.ring.length;
  }
}
