/**
 * The report of `opsctl run JOB --dry-run`, for a person: what the run would have written, sent,
 * called and changed. The report comes from the run's output, so it is parsed like any input
 * (bounded, checked); one that does not parse is shown as JSON instead.
 */
import { z } from 'zod';
import type { JobResult } from '../definitions';
import { printable } from './format';

const text = (max: number) => z.string().max(max);
const MAX_ITEMS = 1000;

const count = z.number().int().nonnegative();

/** The workflows' DryRunReport (definitions.ts); a write's `statements` is also read as `count`. */
export const dryRunReportSchema = z.object({
  writes: z
    .array(
      z
        .object({ table: text(200), op: text(50), statements: count.optional(), count: count.optional() })
        .refine((w) => w.statements !== undefined || w.count !== undefined, { message: 'a write needs statements' })
        .transform((w) => ({ table: w.table, op: w.op, count: (w.statements ?? w.count)! })),
    )
    .max(MAX_ITEMS)
    .default([]),
  sends: z.array(z.object({ channel: text(50), to: text(200), preview: text(10_000).optional() })).max(MAX_ITEMS).default([]),
  external: z.array(z.object({ service: text(100), method: text(20), path: text(2000) })).max(MAX_ITEMS).default([]),
  temporal: z.array(z.object({ action: text(100), target: text(500) })).max(MAX_ITEMS).default([]),
  /** Where the run stopped short of the real thing. */
  notes: z.array(text(2000)).max(MAX_ITEMS).default([]),
});
export type DryRunReport = z.infer<typeof dryRunReportSchema>;

/** The report in a run's output, or undefined when it has none (or one that does not parse). */
export function dryRunReportOf(result: Pick<JobResult, 'output'>): DryRunReport | undefined {
  const parsed = dryRunReportSchema.safeParse(result.output?.dryRun);
  return parsed.success ? parsed.data : undefined;
}

/** "+…0000": enough of an address to recognise it, not enough to copy it out of a terminal log. */
export function maskAddress(to: string): string {
  const tail = to.replace(/\s/g, '').slice(-4);
  if (to.length <= 4) return printable(to, 20);
  return `${to.startsWith('+') ? '+' : ''}…${printable(tail, 20)}`;
}

/** One line per would-be effect, e.g. "would write memory_items ×3", "would send sms to +…0000". */
export function formatDryRunReport(report: DryRunReport): string[] {
  const lines = [
    ...report.writes.map((w) => `would ${printable(w.op, 50)} ${printable(w.table, 100)} ×${w.count}`),
    ...report.sends.map((s) => {
      const preview = s.preview ? `: "${printable(s.preview, 60)}"` : '';
      return `would send ${printable(s.channel, 50)} to ${maskAddress(s.to)}${preview}`;
    }),
    ...report.external.map((e) => `would call ${printable(e.service, 100)} ${printable(e.method, 20)} ${printable(e.path, 200)}`),
    ...report.temporal.map((t) => `would ${printable(t.action, 100)} ${printable(t.target, 200)} (Temporal)`),
  ];
  const notes = report.notes.map((n) => `note: ${printable(n, 500)}`);
  return [...(lines.length ? lines : ['would change nothing']), ...notes];
}

/** The whole human answer of a dry run: how it ended, then what it would have done. */
export function formatDryRun(result: JobResult): string {
  const head = `${result.job} dry run ${result.workflowId}: ${result.outcome}${result.reason ? ` (${printable(result.reason, 200)})` : ''}${
    result.error ? `: ${printable(result.error, 500)}` : ''
  } in ${result.durationMs} ms`;
  const report = dryRunReportOf(result);
  if (!report) {
    return `${head}\n(no dry-run report in its output${result.output ? `: ${printable(JSON.stringify(result.output), 2000)}` : ''})`;
  }
  return [head, ...formatDryRunReport(report).map((line) => `  ${line}`)].join('\n');
}
