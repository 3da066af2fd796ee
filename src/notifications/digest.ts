/**
 * The daily digest's text, from figures the activity gathered. Pure: `opsctl digest preview` and
 * the job print the same thing.
 */
import type { Severity } from '../store/schema';
import { redact } from './redact';

/** The spec's metrics. null: this system does not track that yet (no proposals or corrections). */
export interface DigestMetrics {
  new_proposals: number | null;
  new_incidents: number;
  corrections_applied: number | null;
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
  const tracked = (n: number | null) => (n === null ? 'not tracked yet' : String(n));
  const lines = [
    `Daily digest for ${input.day} (${input.timeZone}), last 24 hours`,
    `Runs: ${metrics.workflows_executed} (${metrics.workflows_failed} failed) · New incidents: ${metrics.new_incidents} · API calls: ${metrics.api_calls}`,
    `Proposals: ${tracked(metrics.new_proposals)} · Corrections applied: ${tracked(metrics.corrections_applied)}`,
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
