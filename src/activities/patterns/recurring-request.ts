/**
 * recurring_request: the operator sends the bot the same, or nearly the same, message again and
 * again: a candidate for a command or an automation. From the chat log the chat source syncs
 * (memory items of source_type 'chat', one per Telegram message, sentAt in the lookback).
 *
 * Text is normalised (Unicode NFKC, lower case, punctuation to spaces, whitespace collapsed).
 * Messages with the same normalised text are one group; then, most frequent text first (ties by
 * text), each group joins the first bigger group whose text's token set has Jaccard similarity
 * >= 0.8 with its own, so the grouping is the same whatever order the rows come in.
 * Left out: commands (text starting with "/": already a command) and acknowledgements (ok, yes,
 * thanks, ...), which are not requests.
 *
 * Confidence = min(1, 0.1 + 0.2 × N), N = messages in the group: 2 is 0.5, 3 is 0.7, 5+ is 1.
 */
import { bySubject, clip, evidence, num, round3 } from './common';
import type { Detector, Pattern } from './types';

export const RECURRING_REQUEST = 'recurring_request';
/** Token-set Jaccard similarity at or above which two messages are "near-same". */
export const NEAR_SAME_JACCARD = 0.8;
const ACKNOWLEDGEMENTS = new Set(['ok', 'okay', 'k', 'yes', 'no', 'y', 'n', 'thanks', 'thank you', 'thx', 'ty', 'hi', 'hello', 'hey', 'cool', 'great', 'done']);
/** A chat message longer than this is compared on its start only (bounded work per message). */
const MAX_TEXT_CHARS = 1000;

export function recurringRequestConfidence(messages: number): number {
  return round3(0.1 + 0.2 * messages);
}

export function normaliseMessage(text: string): string {
  return text
    .slice(0, MAX_TEXT_CHARS)
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const t of a) if (b.has(t)) shared += 1;
  return shared / (a.size + b.size - shared);
}

interface Message {
  id: number;
  text: string;
  sentAt: string;
}

interface Group {
  text: string;
  tokens: Set<string>;
  messages: Message[];
}

/** Groups of same or near-same messages; pure and independent of the input's order. */
export function groupMessages(messages: readonly Message[]): Group[] {
  const exact = new Map<string, Message[]>();
  for (const m of messages) {
    const raw = m.text.trim();
    const text = normaliseMessage(raw);
    if (raw.startsWith('/') || text === '' || ACKNOWLEDGEMENTS.has(text)) continue;
    exact.set(text, [...(exact.get(text) ?? []), m]);
  }
  const ordered = [...exact].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const groups: Group[] = [];
  for (const [text, members] of ordered) {
    const tokens = new Set(text.split(' '));
    const home = groups.find((g) => jaccard(g.tokens, tokens) >= NEAR_SAME_JACCARD);
    if (home) home.messages.push(...members);
    else groups.push({ text, tokens, messages: [...members] });
  }
  for (const g of groups) g.messages.sort((a, b) => a.id - b.id);
  return groups;
}

function readMessage(id: number, value: string): Message | undefined {
  try {
    const parsed = JSON.parse(value) as { text?: unknown; sentAt?: unknown };
    if (typeof parsed.text !== 'string' || typeof parsed.sentAt !== 'string' || Number.isNaN(Date.parse(parsed.sentAt))) return undefined;
    return { id, text: parsed.text, sentAt: new Date(parsed.sentAt).toISOString() };
  } catch {
    return undefined;
  }
}

export const recurringRequest: Detector = {
  kind: RECURRING_REQUEST,
  describe: `min(1, 0.1 + 0.2 × N), N = the operator's chat messages in the lookback with the same normalised text or token Jaccard >= ${NEAR_SAME_JACCARD}: 2 is 0.5, 3 is 0.7, 5+ is 1`,
  async detect({ db, since, now }) {
    const from = since.toISOString();
    const to = now.toISOString();
    // A message is stored after it is sent: rows written before the lookback hold no message in it.
    const rows = await db
      .selectFrom('memory_items')
      .select(['id', 'value'])
      .where('source_type', '=', 'chat')
      .where('superseded_at', 'is', null)
      .where('archived', '=', 0)
      .where('updated_at', '>=', from)
      .orderBy('id')
      .execute();
    const messages = rows.flatMap((r) => {
      const m = readMessage(num(r.id), r.value);
      return m && m.sentAt >= from && m.sentAt <= to ? [m] : [];
    });
    const patterns: Pattern[] = [];
    for (const group of groupMessages(messages)) {
      const n = group.messages.length;
      if (n < 2) continue;
      const subject = clip(group.text, 200);
      const variants = new Set(group.messages.map((m) => m.text.trim())).size;
      patterns.push({
        kind: RECURRING_REQUEST,
        subject,
        confidence: recurringRequestConfidence(n),
        evidence: evidence('memory_items', group.messages.map((m) => m.id)),
        summary: `The operator sent "${clip(group.text, 120)}" ${n} times in the lookback${variants > 1 ? ` (${variants} wordings)` : ''}.`,
        title: `Make "${clip(group.text, 80)}" a command or an automation`,
        action: { kind: 'record_only', note: `make "${clip(group.text, 200)}" a bot command or an automation: sent ${n} times` },
      });
    }
    return bySubject(patterns);
  },
};
