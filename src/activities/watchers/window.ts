/** Time arithmetic the watchers share: every window ends at the run's `now`, never at Date.now(). */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export function minutesBefore(now: Date, minutes: number): Date {
  return new Date(now.getTime() - minutes * MINUTE_MS);
}

/** A percentage for a title: whole numbers, one decimal under 10. */
export function percentText(value: number): string {
  if (!Number.isFinite(value)) return 'from nothing';
  return `${value < 10 ? value.toFixed(1) : Math.round(value)}%`;
}
