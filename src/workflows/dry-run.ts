/**
 * A dry run's state inside its workflow (module state is per workflow run: the SDK gives each
 * run its own module instances). The interceptor (interceptors.ts) marks every activity of a dry
 * run and gathers what each would have done; the job wrapper puts the report in the run's output.
 */
import { DRY_RUN_ENVELOPE, type DryRunReport, type DryRunTemporalChange, type DryRunWrite } from '../definitions';

let active = false;
const writes = new Map<string, DryRunWrite>();
const report: Omit<DryRunReport, 'writes'> = { sends: [], temporal: [], notes: [] };

export function beginDryRun(): void {
  active = true;
}

export function isDryRun(): boolean {
  return active;
}

export function noteTemporalChange(change: DryRunTemporalChange): void {
  report.temporal.push(change);
}

export function noteDryRun(note: string): void {
  if (!report.notes.includes(note)) report.notes.push(note);
}

/** Bounds what one run's report may hold (a long run must not bloat its result). */
const MAX_ENTRIES = 200;

/**
 * An activity's result: unwrapped from its dry-run envelope, whose report is added to the run's.
 * Anything else (not a dry run, or an activity that ran for real) is returned as it is.
 */
export function takeActivityResult(value: unknown): unknown {
  if (!active || typeof value !== 'object' || value === null || (value as Record<string, unknown>)[DRY_RUN_ENVELOPE] !== true) return value;
  const envelope = value as { result: unknown; report: DryRunReport };
  for (const write of envelope.report.writes ?? []) {
    const key = `${write.table} ${write.op}`;
    const entry = writes.get(key);
    if (entry) entry.statements += write.statements;
    else if (writes.size < MAX_ENTRIES) writes.set(key, { ...write });
  }
  for (const list of ['sends', 'temporal', 'notes'] as const) {
    const into = report[list] as unknown[];
    for (const item of (envelope.report[list] ?? []) as unknown[]) {
      if (into.length >= MAX_ENTRIES) break;
      if (list === 'notes' && into.includes(item)) continue;
      into.push(item);
    }
  }
  return envelope.result;
}

export function dryRunReport(): DryRunReport {
  const sorted = [...writes.values()].sort((a, b) => a.table.localeCompare(b.table) || a.op.localeCompare(b.op));
  return { writes: sorted, sends: [...report.sends], temporal: [...report.temporal], notes: [...report.notes] };
}
