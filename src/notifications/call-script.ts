/**
 * The morning call's script: whole sentences in three sections, cut to fit the spoken time by
 * dropping the least important sentences first. Pure.
 */
import { redact } from './redact';

export const CALL_SECTIONS = ['overnight_activity', 'critical_incidents', 'pending_approvals'] as const;
export type CallSection = (typeof CALL_SECTIONS)[number];

export interface ScriptSentence {
  section: CallSection | 'opening' | 'closing';
  text: string;
  /** Higher stays longer. */
  importance: number;
}

export interface CallScript {
  text: string;
  sentences: ScriptSentence[];
  words: number;
  seconds: number;
  dropped: number;
}

export function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/**
 * Keeps the sentences in their order, dropping the least important (the later one of equals)
 * until the script fits `maxSeconds` at `wordsPerMinute`.
 */
export function fitScript(
  sentences: readonly ScriptSentence[],
  limits: { maxSeconds: number; wordsPerMinute: number; secrets: readonly string[] },
): CallScript {
  const budget = Math.floor((limits.maxSeconds * limits.wordsPerMinute) / 60);
  const kept = sentences.map((s) => ({ ...s, text: redact(s.text, limits.secrets) }));
  let words = kept.reduce((n, s) => n + wordCount(s.text), 0);
  let dropped = 0;
  while (words > budget && kept.length > 0) {
    let victim = 0;
    for (let i = 1; i < kept.length; i++) if (kept[i]!.importance <= kept[victim]!.importance) victim = i;
    words -= wordCount(kept[victim]!.text);
    kept.splice(victim, 1);
    dropped += 1;
  }
  return {
    text: kept.map((s) => s.text).join(' '),
    sentences: kept,
    words,
    seconds: Math.round((words * 60) / limits.wordsPerMinute),
    dropped,
  };
}

/** What the morning call reports; read by the activity, worded here. */
export interface CallFacts {
  day: string;
  runs: { executed: number; failed: number };
  open: { severity: string; title: string }[];
  deadLetters: number;
  /** Proposals waiting for a decision (pending, not expired): how many, and the newest few titles. */
  approvals: { total: number; titles: string[] };
  /** Overnight: proposals applied plus memory items the operator corrected. */
  corrections: number;
}

const SEVERITY_WORDS: Record<string, string> = { SEV0: 'Critical', SEV1: 'Urgent', WARN: 'Warning', INFO: 'Note' };
const INCIDENT_IMPORTANCE: Record<string, number> = { SEV0: 90, SEV1: 80, WARN: 40, INFO: 20 };

/** Whole sentences, each with its importance; fitScript drops the least important first. */
export function callSentences(facts: CallFacts): ScriptSentence[] {
  const [overnight, critical, approvals] = CALL_SECTIONS;
  const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const weekday = new Date(`${facts.day}T12:00:00Z`).toLocaleDateString('en-US', { weekday: 'long', timeZone: 'UTC' });
  const out: ScriptSentence[] = [{ section: 'opening', text: `Good morning. Here is your status for ${weekday}.`, importance: 100 }];

  out.push({
    section: overnight,
    text: `Overnight, ${plural(facts.runs.executed, 'job run')} finished and ${facts.runs.failed} failed.`,
    importance: 70,
  });
  if (facts.deadLetters > 0) {
    out.push({ section: overnight, text: `${plural(facts.deadLetters, 'run')} wait in the dead-letter queue.`, importance: 50 });
  }
  if (facts.corrections > 0) {
    out.push({ section: overnight, text: `${plural(facts.corrections, 'correction')} applied.`, importance: 30 });
  }

  const ranked = [...facts.open].sort((a, b) => (INCIDENT_IMPORTANCE[b.severity] ?? 0) - (INCIDENT_IMPORTANCE[a.severity] ?? 0));
  const urgent = ranked.filter((i) => i.severity === 'SEV0' || i.severity === 'SEV1').length;
  out.push({
    section: critical,
    text: ranked.length === 0 ? 'There are no open incidents.' : `There are ${plural(ranked.length, 'open incident')}, ${urgent} of them urgent.`,
    importance: 75,
  });
  ranked.slice(0, 5).forEach((incident, i) => {
    out.push({
      section: critical,
      text: `${SEVERITY_WORDS[incident.severity] ?? 'Incident'}: ${incident.title.replace(/[.\s]+$/, '')}.`,
      importance: (INCIDENT_IMPORTANCE[incident.severity] ?? 20) - i,
    });
  });

  const waiting = facts.approvals.total;
  out.push({
    section: approvals,
    text:
      waiting === 0
        ? 'There is nothing to approve.'
        : `${plural(waiting, 'proposal')} ${waiting === 1 ? 'waits' : 'wait'} for your approval.`,
    importance: 65,
  });
  facts.approvals.titles.slice(0, 3).forEach((title, i) => {
    out.push({ section: approvals, text: `Awaiting approval: ${title.replace(/[.\s]+$/, '')}.`, importance: 35 - i });
  });
  out.push({ section: 'closing', text: 'That is all for now.', importance: 10 });
  return out;
}
