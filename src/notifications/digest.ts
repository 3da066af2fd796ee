/**
 * The daily digest's text, from figures the activity gathered. Pure: `opsctl digest preview` and
 * the job print the same thing.
 */
import type { Severity } from '../store/schema';
import { redact } from './redact';

/** The spec's metrics (the digest notification's meta carries them as they are). */
export interface DigestMetrics {
  /** Proposals created in the digest's window. */
  new_proposals: number;
  new_incidents: number;
  /** Proposals applied plus memory items corrected by the operator, in the window. */
  corrections_applied: number;
  workflows_executed: number;
  workflows_failed: number;
  api_calls: number;
}

export interface DigestItem {
  severity: Severity;
  title: string;
  createdAt: string;
}

export interface DigestInput {
  day: string;
  timeZone: string;
  metrics: DigestMetrics;
  /** Most important first (severity, then newest). */
  items: readonly DigestItem[];
  maxBullets: number;
  /** Values that must never appear in the text. */
  secrets: readonly string[];
  /**
   * Held alerts among the items that this digest does not deliver, because it goes to the
   * console (no provider is configured): they stay held for the first digest a real channel sends.
   */
  heldKept?: number;
  /** Proposals waiting for the operator's decision now (pending, not expired): all, and those made in the window. */
  pendingApprovals: { total: number; new: number };
  /** What corrections_applied is made of. */
  corrections: { proposalsApplied: number; memoryCorrected: number };
}

export interface Digest {
  text: string;
  bullets: string[];
  /** Items that did not fit in the bullets. */
  more: number;
}

const MAX_BULLET_CHARS = 140;

export function formatDigest(input: DigestInput): Digest {
  const { metrics } = input;
  const bullets = input.items.slice(0, input.maxBullets).map((item) => {
    const title = redact(item.title, input.secrets).replace(/\s+/g, ' ').trim();
    return `[${item.severity}] ${title.length > MAX_BULLET_CHARS ? `${title.slice(0, MAX_BULLET_CHARS - 1)}…` : title}`;
  });
  const more = Math.max(0, input.items.length - bullets.length);
  const lines = [
    `Daily digest for ${input.day} (${input.timeZone}), last 24 hours`,
    `Runs: ${metrics.workflows_executed} (${metrics.workflows_failed} failed) · New incidents: ${metrics.new_incidents} · API calls: ${metrics.api_calls}`,
    proposalsSentence(metrics.new_proposals, input.pendingApprovals),
    correctionsSentence(metrics.corrections_applied, input.corrections),
    '',
    ...(bullets.length ? bullets.map((b) => `• ${b}`) : ['• Nothing needs your attention.']),
    ...(more ? [`(+${more} more: opsctl notifications, opsctl incidents)`] : []),
    ...(input.heldKept
      ? [
          '',
          `Console only (no provider configured): ${input.heldKept} held alert${input.heldKept === 1 ? ' stays' : 's stay'} held for the first digest sent through a real channel.`,
        ]
      : []),
  ];
  return { text: lines.join('\n'), bullets, more };
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** New proposals of the window and what waits for a decision, with the command to see them. */
export function proposalsSentence(created: number, pending: { total: number; new: number }): string {
  const made = created === 0 ? 'No new proposals' : count(created, 'new proposal');
  if (pending.total === 0) return `${made}; nothing to approve.`;
  const wait = `${pending.total === 1 ? 'waits' : 'wait'} for your approval: opsctl proposals list.`;
  // Exactly the new ones wait: one clause says both.
  if (pending.total === created && pending.new === created) return `${count(created, 'new proposal')} ${wait}`;
  return `${made}; ${count(pending.total, 'proposal')} ${wait}`;
}

/** Corrections applied in the window, and what they were. */
export function correctionsSentence(total: number, parts: { proposalsApplied: number; memoryCorrected: number }): string {
  if (total === 0) return 'No corrections applied.';
  const what = [
    parts.proposalsApplied ? count(parts.proposalsApplied, 'approved proposal') : '',
    parts.memoryCorrected ? count(parts.memoryCorrected, 'memory correction') : '',
  ].filter(Boolean);
  return `${count(total, 'correction')} applied (${what.join(' and ')}).`;
}
