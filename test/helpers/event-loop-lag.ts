/**
 * How long the event loop stood still: an interval ticks every `everyMs`, and the longest gap
 * between ticks beyond that interval is the lag. Stop it when done.
 */
export function lagProbe(everyMs: number) {
  let last = performance.now();
  let maxLagMs = 0;
  const tick = () => {
    const now = performance.now();
    maxLagMs = Math.max(maxLagMs, now - last - everyMs);
    last = now;
  };
  const interval = setInterval(tick, everyMs);
  return {
    /** Measures again from `from` (now by default), forgetting the lag seen so far. */
    reset(from = performance.now()): void {
      last = from;
      maxLagMs = 0;
    },
    /** The longest lag so far, a stall that has just ended included (no tick has run after it yet). */
    maxLagMs(): number {
      tick();
      return maxLagMs;
    },
    stop(): void {
      clearInterval(interval);
    },
  };
}
