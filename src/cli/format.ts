/**
 * Human output of opsctl: short tables. --json prints the objects instead. Every value from
 * state or the store passes through `printable` (or a table cell), so text someone stored with
 * newlines, ANSI escapes or bidi overrides can neither forge lines nor repaint the terminal.
 */
import { clip, escapeUnprintable, REASON_MAX_LENGTH, type ControlsView } from '../controls-model';
import type { IncidentCounts, IncidentView, MemoryItemHistory, ProposalView, ScheduleStatus, SourceStatus, SystemStatus } from '../client';
import type { JobProgress } from '../definitions';
import { INCIDENT_SEVERITIES } from '../store/schema';

const MAX_CELL = 80;

/** One line: every control character shown escaped (\n, \x1b), long text clipped. */
export function printable(value: unknown, max = REASON_MAX_LENGTH): string {
  return clip(escapeUnprintable(String(value)), max);
}

export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown): string => {
    const text = v === null || v === undefined || v === '' ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    const oneLine = escapeUnprintable(text.replace(/\s*\n\s*/g, ' '));
    return oneLine.length > MAX_CELL ? `${oneLine.slice(0, MAX_CELL - 1)}…` : oneLine;
  };
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols.map((c) => printable(c, MAX_CELL))), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function formatControls(c: ControlsView): string {
  const q = c.quietHours;
  return [
    `kill switch   ${c.killSwitch ? 'ON  (no job runs)' : 'off'}`,
    `jobs          ${c.jobsEnabled ? 'enabled' : 'disabled'}`,
    `comms         ${c.commsEnabled ? 'enabled' : 'disabled'}`,
    `writes        ${c.writeEnabled ? 'enabled' : 'disabled'}`,
    `quiet hours   ${q.enabled ? 'on ' : 'off'} ${printable(q.start)}-${printable(q.end)} ${printable(q.timeZone)}`,
    `version ${printable(c.version)}, last changed ${printable(c.updatedAt)} by ${printable(c.updatedBy)}: ${printable(c.reason)}`,
    ...(c.mirror === 'pending' ? [`store mirror  PENDING: ${printable(c.warning ?? 'not written yet')}`] : []),
  ].join('\n');
}

/** "11-23 08:00" in `timeZone`, seconds only when they are not :00 (30 s cadences). */
export function formatInstant(iso: string, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.month}-${parts.day} ${parts.hour}:${parts.minute}${parts.second === '00' ? '' : `:${parts.second}`}`;
}

export function formatAgo(iso: string, now: Date): string {
  const seconds = Math.round((now.getTime() - new Date(iso).getTime()) / 1000);
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 0) return 'just now';
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86_400)}d ago`;
}

export interface TimeView {
  timeZone: string;
  now: Date;
}

export function formatSchedules(schedules: ScheduleStatus[], view: TimeView): string {
  return table(
    schedules.map((s) => ({
      job: s.job,
      cadence: s.cadence,
      state: !s.exists ? 'missing' : s.paused ? `paused${s.note ? ` (${s.note})` : ''}` : 'active',
      [`next runs (${view.timeZone})`]: s.nextRunTimes.slice(0, 3).map((t) => formatInstant(t, view.timeZone)).join(', '),
      last: s.lastRun ? `${s.lastRun.outcome ?? '?'} ${formatAgo(s.lastRun.at, view.now)}` : 'never',
      'cadence from': describeCadenceSource(s),
    })),
  );
}

/** "catalogue", "config", "set by alice (config: every 30m)", "proposal #4 (config: every 1h)". */
export function describeCadenceSource(s: Pick<ScheduleStatus, 'source' | 'override' | 'configured'>): string {
  if (s.source === 'proposal') return `proposal #${s.override?.proposal ?? '?'} (default: ${s.configured})`;
  if (s.source === 'override') return `set by ${printable(s.override?.actor ?? '?', 40)} (default: ${s.configured})`;
  return s.source;
}

export function formatStatus(s: SystemStatus, view: TimeView): string {
  const parts = [
    `Temporal  ${s.temporal.ok ? 'reachable' : `UNREACHABLE (${printable(s.temporal.error)})`} at ${printable(s.temporal.address)}, namespace ${printable(s.temporal.namespace)}`,
    `Store     ${s.store.ok ? 'reachable' : `UNREACHABLE (${printable(s.store.error)})`} (${s.store.dialect})`,
  ];
  if (s.controls) parts.push('', formatControls(s.controls));
  if (s.schedules.length) parts.push('', formatSchedules(s.schedules, view));
  if (s.sources.length) parts.push('', formatSources(s.sources, view));
  if (s.comms) {
    const { channels, allowlisted, held } = s.comms;
    parts.push(
      '',
      `Comms     channels: ${printable(channels.join(', '))}; ${allowlisted} allowlisted address(es); ${held} alert(s) held for the digest`,
    );
    if (allowlisted === 0 && !channels.includes('console')) parts.push('          nothing can be sent until an address is allowlisted (opsctl allowlist add)');
  }
  if (s.incidents) parts.push('', formatIncidentCounts(s.incidents));
  return parts.join('\n');
}

/** "Incidents SEV0 0, SEV1 1, WARN 3 (1 acknowledged), INFO 0": the ones not resolved yet. */
export function formatIncidentCounts(counts: IncidentCounts): string {
  const severities = INCIDENT_SEVERITIES;
  const total = severities.reduce((n, sev) => n + counts[sev].open + counts[sev].acknowledged, 0);
  if (total === 0) return 'Incidents none open';
  const each = severities.map((sev) => {
    const { open, acknowledged } = counts[sev];
    return `${sev} ${open + acknowledged}${acknowledged ? ` (${acknowledged} acknowledged)` : ''}`;
  });
  return `Incidents ${each.join(', ')}; opsctl incidents lists them`;
}

/** One row per incident; every stored text is escaped to one line by the table. */
export function formatIncidents(incidents: IncidentView[], view: TimeView): string {
  return table(
    incidents.map((i) => ({
      id: i.id,
      severity: i.severity,
      state: i.state,
      type: i.type,
      subject: i.subject ?? i.job,
      seen: `${i.occurrences}x, ${formatAgo(i.last_seen_at ?? i.created_at, view.now)}`,
      title: i.title,
    })),
  );
}

/** One incident in full. The body keeps its lines, each escaped and indented so none can pass for ours. */
export function formatIncident(i: IncidentView, view: TimeView): string {
  const at = (iso: string) => `${printable(iso)} (${formatAgo(iso, view.now)})`;
  const decided = (when: string | null, by: string | null, why: string | null) =>
    when ? `${at(when)} by ${printable(by ?? '?', 100)}: ${printable(why ?? '')}` : undefined;
  const fields: [string, string | undefined][] = [
    ['type', printable(i.type)],
    ['subject', i.subject === null ? undefined : printable(i.subject)],
    ['job', i.job === null ? undefined : printable(i.job)],
    ['title', printable(i.title)],
    ['opened', at(i.created_at)],
    ['last seen', `${at(i.last_seen_at ?? i.created_at)}, ${i.occurrences} occurrence(s)`],
    ['workflow', i.related_workflow_id === null ? undefined : printable(i.related_workflow_id)],
    ['acknowledged', decided(i.acknowledged_at, i.acknowledged_by, i.acknowledged_reason)],
    ['resolved', i.status === 'resolved' ? (decided(i.resolved_at, i.resolved_by, i.resolved_reason) ?? 'yes') : undefined],
    ['archived', i.archived ? (i.archived_at ? at(i.archived_at) : 'yes') : undefined],
  ];
  const body = i.body ? i.body.split(/\r?\n/).map((line) => `  | ${printable(line, 4000)}`) : [];
  return [
    `incident #${i.id}  ${i.severity}  ${i.state}`,
    ...fields.filter(([, value]) => value !== undefined).map(([name, value]) => `${name.padEnd(13)}${value}`),
    ...(body.length ? ['body', ...body] : []),
  ].join('\n');
}

/** One row per data source: its last sync, outcome, items, and where an unfinished run stands. */
export function formatSources(sources: SourceStatus[], view: TimeView): string {
  return table(
    sources.map((s) => ({
      source: s.source,
      configured: s.configured ? 'yes' : `no (set ${s.missing})`,
      'last sync': s.lastSyncAt ? formatAgo(s.lastSyncAt, view.now) : 'never',
      outcome: [
        s.state === 'running' ? `syncing (${s.lockedBy})` : (s.lastOutcome ?? '-'),
        s.consecutiveFailures ? `${s.consecutiveFailures} failed in a row: ${s.lastError ?? ''}` : '',
      ]
        .filter(Boolean)
        .join(', '),
      items: String(s.items),
      cursor: s.pending ? `resumes after ${s.pending.pages} pages (${s.pending.items} items): ${JSON.stringify(s.cursor)}` : 'at the end',
    })),
  );
}

/** "check_disk free_mb=812 path=.data": the step, then its detail as key=value. */
export function formatProgress(p: JobProgress): string {
  const detail = Object.entries(p.detail ?? {}).map(
    ([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`,
  );
  return printable([p.step, ...detail].join(' '), 2000);
}

/** One row per proposal: what approving it does, and how sure the scan was. */
export function formatProposals(proposals: ProposalView[], view: TimeView): string {
  return table(
    proposals.map((p) => ({
      id: p.id,
      state: p.state,
      kind: p.kind,
      subject: p.subject,
      confidence: p.confidence.toFixed(2),
      made: formatAgo(p.created_at, view.now),
      does: p.does,
      title: p.title,
    })),
  );
}

/** One proposal in full: the rationale keeps its lines, escaped and indented like an incident body. */
export function formatProposal(p: ProposalView, view: TimeView): string {
  const at = (iso: string) => `${printable(iso)} (${formatAgo(iso, view.now)})`;
  const fields: [string, string | undefined][] = [
    ['kind', printable(p.kind)],
    ['subject', printable(p.subject)],
    ['title', printable(p.title)],
    ['confidence', p.confidence.toFixed(2)],
    ['approving', printable(p.does)],
    ['made', at(p.created_at)],
    [p.state === 'pending' ? 'expires' : 'expiry', p.state === 'pending' || p.state === 'expired' ? at(p.expires_at) : undefined],
    ['decided', p.decided_at ? `${at(p.decided_at)} by ${printable(p.decided_by ?? '?', 100)}: ${printable(p.decision_reason ?? '')}` : undefined],
    ['applied', p.applied_at ? at(p.applied_at) : undefined],
    ['result', p.apply_result === null ? undefined : printable(p.apply_result, 4000)],
    ['evidence', p.evidence.length ? printable(p.evidence.map((e) => `${e.table}#${e.id}`).join(', '), 2000) : undefined],
  ];
  const rationale = p.rationale.split(/\r?\n/).map((line) => `  | ${printable(line, 4000)}`);
  return [
    `proposal #${p.id}  ${p.state}`,
    ...fields.filter(([, value]) => value !== undefined).map(([name, value]) => `${name.padEnd(12)}${value}`),
    'rationale',
    ...rationale,
  ].join('\n');
}

/** A memory item's current value, then every version oldest first with why it was replaced. */
export function formatMemoryItem(item: MemoryItemHistory): string {
  const current = item.current;
  return [
    `memory ${printable(item.key, 300)}`,
    current ? `current     v${current.version} (${printable(current.authority)}, ${printable(current.source_type)}) ${printable(current.value, 2000)}` : 'current     none (retired)',
    'history',
    table(
      item.history.map((r) => ({
        id: r.id,
        version: r.version,
        created: r.created_at,
        value: r.value,
        replaced: r.superseded_at ?? 'current',
        why: r.superseded_reason,
      })),
    ),
  ].join('\n');
}
