/** Human output of opsctl: short tables. --json prints the objects instead. */
import type { ControlsState } from '../controls-model';
import type { SystemStatus } from '../client';

export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = cols.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  const line = (values: string[]) => values.map((v, i) => v.slice(0, 60).padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

export function formatControls(c: ControlsState): string {
  const flag = (on: boolean) => (on ? 'on' : 'off');
  const q = c.quietHours;
  return [
    `kill switch   ${c.killSwitch ? 'ON  (no job runs)' : 'off'}`,
    `jobs          ${c.jobsEnabled ? 'enabled' : 'disabled'}`,
    `comms         ${c.commsEnabled ? 'enabled' : 'disabled'}`,
    `writes        ${c.writeEnabled ? 'enabled' : 'disabled'}`,
    `quiet hours   ${flag(q.enabled)} ${q.start}-${q.end} ${q.timeZone}`,
    `version ${c.version}, last changed ${c.updatedAt} by ${c.updatedBy}: ${c.reason}`,
  ].join('\n');
}

export function formatStatus(s: SystemStatus): string {
  const parts = [
    `Temporal  ${s.temporal.ok ? 'reachable' : `UNREACHABLE (${s.temporal.error})`} at ${s.temporal.address}, namespace ${s.temporal.namespace}`,
    `Store     ${s.store.ok ? 'reachable' : `UNREACHABLE (${s.store.error})`} (${s.store.dialect})`,
  ];
  if (s.controls) parts.push('', formatControls(s.controls));
  if (s.schedules.length) {
    parts.push(
      '',
      table(
        s.schedules.map((sch) => ({
          job: sch.job,
          cadence: sch.cadence,
          state: !sch.exists ? 'missing' : sch.paused ? `paused${sch.note ? ` (${sch.note})` : ''}` : 'active',
          next: sch.nextRunTimes[0] ?? '-',
          last: sch.lastRun ? `${sch.lastRun.outcome ?? '?'} ${sch.lastRun.at}` : 'never',
        })),
      ),
    );
  }
  return parts.join('\n');
}
