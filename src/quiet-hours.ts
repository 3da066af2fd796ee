import type { QuietHours } from './controls-model';

/** Minutes since local midnight of `at` in `timeZone`. Pure: Intl only, safe in workflows. */
export function localMinutes(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value);
  return hour * 60 + minute;
}

function toMinutes(clock: string): number {
  const [h, m] = clock.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Start inclusive, end exclusive; a window may wrap past midnight (22:00-07:00). */
export function isQuietHours(at: Date, quiet: QuietHours): boolean {
  if (!quiet.enabled) return false;
  const now = localMinutes(at, quiet.timeZone);
  const start = toMinutes(quiet.start);
  const end = toMinutes(quiet.end);
  if (start === end) return false;
  return start < end ? now >= start && now < end : now >= start || now < end;
}
