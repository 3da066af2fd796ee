/** The pure parts of the router and the daily messages: routing table, redaction, digest, call script, local day. */
import { describe, expect, it } from 'vitest';
import { callSentences, fitScript, wordCount } from '../../src/notifications/call-script';
import { formatDigest, type DigestMetrics } from '../../src/notifications/digest';
import { localDay } from '../../src/notifications/local-day';
import { redact, REDACTED } from '../../src/notifications/redact';
import { gate, routeOf } from '../../src/notifications/routing';
import type { Severity } from '../../src/store';

const QUIET_ALL_DAY = { enabled: true, start: '00:00', end: '23:59', timeZone: 'America/Chicago' };
const NO_QUIET = { ...QUIET_ALL_DAY, enabled: false };
const NOW = new Date('2026-11-23T14:00:00Z');

describe('routing by severity', () => {
  const cases: [Severity, string][] = [
    ['SEV0', 'call'],
    ['SEV1', 'sms'],
    ['WARN', 'digest'],
    ['INFO', 'digest'],
  ];
  it.each(cases)('%s goes by %s', (severity, route) => {
    expect(routeOf({ severity })).toBe(route);
  });

  it('SEV0 and SEV1 bypass quiet hours; WARN and INFO are held for the digest whatever the hour', () => {
    const controls = { killSwitch: false, commsEnabled: true, quietHours: QUIET_ALL_DAY };
    expect(gate({ severity: 'SEV0' }, controls, NOW)).toBeUndefined();
    expect(gate({ severity: 'SEV1' }, controls, NOW)).toBeUndefined();
    expect(gate({ severity: 'WARN' }, controls, NOW)).toEqual({ stop: 'held', reason: 'held for the daily digest' });
    expect(gate({ severity: 'INFO' }, { ...controls, quietHours: NO_QUIET }, NOW)).toMatchObject({ stop: 'held' });
  });

  it('a scheduled message respects quiet hours', () => {
    const controls = { killSwitch: false, commsEnabled: true, quietHours: QUIET_ALL_DAY };
    expect(gate({ severity: 'INFO', deliver: 'text' }, controls, NOW)).toEqual({ stop: 'suppressed', reason: 'Quiet hours' });
    expect(gate({ severity: 'INFO', deliver: 'text' }, { ...controls, quietHours: NO_QUIET }, NOW)).toBeUndefined();
  });

  it('the kill switch suppresses everything, even SEV0, naming the reason; comms off suppresses every message sent now', () => {
    const on = { killSwitch: false, commsEnabled: true, quietHours: NO_QUIET };
    expect(gate({ severity: 'SEV0' }, { ...on, killSwitch: true }, NOW)).toEqual({ stop: 'suppressed', reason: 'Kill switch is active' });
    expect(gate({ severity: 'WARN' }, { ...on, killSwitch: true }, NOW)).toEqual({ stop: 'suppressed', reason: 'Kill switch is active' });
    expect(gate({ severity: 'SEV0' }, { ...on, commsEnabled: false }, NOW)).toEqual({ stop: 'suppressed', reason: 'Comms are disabled' });
    expect(gate({ severity: 'INFO', deliver: 'text' }, { ...on, commsEnabled: false }, NOW)).toEqual({ stop: 'suppressed', reason: 'Comms are disabled' });
  });

  it('with comms off, what waits for the digest is still held for the next digest that is sent', () => {
    const off = { killSwitch: false, commsEnabled: false, quietHours: NO_QUIET };
    expect(gate({ severity: 'WARN' }, off, NOW)).toEqual({ stop: 'held', reason: 'held for the daily digest' });
    expect(gate({ severity: 'INFO' }, off, NOW)).toEqual({ stop: 'held', reason: 'held for the daily digest' });
  });
});

describe('redaction', () => {
  const planted = [
    'secret_notionTOKEN0123456789',
    '7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw',
    'pat-na1-11111111-2222-3333-4444-555555555555',
    'sk-live-abcdefghijklmnop',
    '+15551234567',
    '(555) 987-6543',
    'Bearer abc.def.ghijklmnop',
    'api_key=hunter2hunter2',
    'AC0123456789abcdef0123456789abcdef',
  ];
  it.each(planted)('removes %s', (secret) => {
    const text = `sync failed: ${secret} was rejected`;
    const out = redact(text, ['secret_notionTOKEN0123456789']);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
  });

  it('removes known values whatever their shape, and leaves ordinary text, dates and counts alone', () => {
    expect(redact('the word swordfish appears', ['swordfish'])).toBe(`the word ${REDACTED} appears`);
    const plain = 'Runs: 12 (1 failed) on 2026-11-23 at 08:00; incident #42 in sync_notion';
    expect(redact(plain)).toBe(plain);
  });
});

describe('the digest', () => {
  const metrics: DigestMetrics = {
    new_proposals: 0,
    new_incidents: 3,
    corrections_applied: 0,
    workflows_executed: 40,
    workflows_failed: 2,
    api_calls: 120,
  };
  const quiet = { pendingApprovals: { total: 0, new: 0 }, corrections: { proposalsApplied: 0, memoryCorrected: 0 } };
  const items = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ severity: 'WARN' as const, title: `item ${i}`, createdAt: `2026-11-23T0${i % 10}:00:00.000Z` }));

  it('has at most the configured bullets, says how many more, and every metric', () => {
    const digest = formatDigest({ day: '2026-11-23', timeZone: 'America/Chicago', metrics, items: items(8), maxBullets: 5, secrets: [], ...quiet });
    expect(digest.bullets).toHaveLength(5);
    expect(digest.more).toBe(3);
    expect(digest.text.split('\n').filter((l) => l.startsWith('• '))).toHaveLength(5);
    expect(digest.text).toContain('Runs: 40 (2 failed)');
    expect(digest.text).toContain('New incidents: 3');
    expect(digest.text).toContain('API calls: 120');
    expect(digest.text).toContain('No new proposals; nothing to approve.');
    expect(digest.text).toContain('No corrections applied.');
    expect(digest.text).toContain('(+3 more');
  });

  it('keeps planted secrets out of the bullets', () => {
    const secretItems = [
      { severity: 'SEV1' as const, title: 'HubSpot rejected pat-na1-aaaa-bbbb-cccc-dddddddddddd', createdAt: '2026-11-23T01:00:00.000Z' },
      { severity: 'WARN' as const, title: 'call to +15551234567 failed', createdAt: '2026-11-23T01:00:00.000Z' },
      { severity: 'WARN' as const, title: 'token mytoken-value leaked', createdAt: '2026-11-23T01:00:00.000Z' },
    ];
    const digest = formatDigest({ day: '2026-11-23', timeZone: 'UTC', metrics, items: secretItems, maxBullets: 5, secrets: ['mytoken-value'], ...quiet });
    for (const secret of ['pat-na1-aaaa', '+15551234567', 'mytoken-value']) expect(digest.text).not.toContain(secret);
  });

  it('a digest going to the console says its held alerts stay held; one through a real channel says nothing of it', () => {
    const base = { day: '2026-11-23', timeZone: 'UTC', metrics, items: items(8), maxBullets: 5, secrets: [], ...quiet };
    expect(formatDigest({ ...base, heldKept: 8 }).text).toContain(
      'Console only (no provider configured): 8 held alerts stay held for the first digest sent through a real channel.',
    );
    expect(formatDigest({ ...base, heldKept: 1 }).text).toContain('1 held alert stays held');
    expect(formatDigest(base).text).not.toContain('Console only');
  });

  it('says in whole sentences what the proposals and corrections of the window were', () => {
    const digest = (created: number, pending: { total: number; new: number }, proposalsApplied = 0, memoryCorrected = 0) =>
      formatDigest({
        day: '2026-11-23',
        timeZone: 'UTC',
        metrics: { ...metrics, new_proposals: created, corrections_applied: proposalsApplied + memoryCorrected },
        items: [],
        maxBullets: 5,
        secrets: [],
        pendingApprovals: pending,
        corrections: { proposalsApplied, memoryCorrected },
      }).text.split('\n');
    const [, , proposals, corrections] = digest(2, { total: 2, new: 2 }, 1, 0);
    expect(proposals).toBe('2 new proposals wait for your approval: opsctl proposals list.');
    expect(corrections).toBe('1 correction applied (1 approved proposal).');
    expect(digest(1, { total: 1, new: 1 })[2]).toBe('1 new proposal waits for your approval: opsctl proposals list.');
    // Two wait, but one of them is older than the window: the sentence does not call both new.
    expect(digest(2, { total: 2, new: 1 })[2]).toBe('2 new proposals; 2 proposals wait for your approval: opsctl proposals list.');
    expect(digest(0, { total: 3, new: 0 })[2]).toBe('No new proposals; 3 proposals wait for your approval: opsctl proposals list.');
    expect(digest(4, { total: 0, new: 0 })[2]).toBe('4 new proposals; nothing to approve.');
    expect(digest(0, { total: 0, new: 0 }, 2, 3)[3]).toBe('5 corrections applied (2 approved proposals and 3 memory corrections).');
    expect(digest(0, { total: 0, new: 0 }, 0, 1)[3]).toBe('1 correction applied (1 memory correction).');
    expect(digest(0, { total: 0, new: 0 })[3]).toBe('No corrections applied.');
  });

  it('says so when nothing needs attention', () => {
    expect(formatDigest({ day: '2026-11-23', timeZone: 'UTC', metrics, items: [], maxBullets: 5, secrets: [], ...quiet }).text).toContain(
      'Nothing needs your attention.',
    );
  });
});

describe('the morning call script', () => {
  const facts = (incidents: number, approvals: number) => ({
    day: '2026-11-23',
    runs: { executed: 31, failed: 2 },
    deadLetters: 1,
    open: Array.from({ length: incidents }, (_, i) => ({
      severity: i % 3 === 0 ? 'SEV1' : 'WARN',
      title: `A fairly long incident title number ${i} describing what went wrong overnight in some detail`,
    })),
    approvals: { total: approvals, titles: Array.from({ length: Math.min(approvals, 3) }, (_, i) => `Proposal ${i} to update the canonical refund procedure`) },
    corrections: 0,
  });
  const limits = { maxSeconds: 60, wordsPerMinute: 150, secrets: [] };

  it('has the three sections when they fit', () => {
    const script = fitScript(callSentences(facts(1, 1)), limits);
    expect(script.dropped).toBe(0);
    expect(new Set(script.sentences.map((s) => s.section))).toEqual(
      new Set(['opening', 'overnight_activity', 'critical_incidents', 'pending_approvals', 'closing']),
    );
  });

  it('says how many proposals wait for approval, or that there is nothing to approve, and the corrections of the night', () => {
    const text = (approvals: number, corrections = 0) => fitScript(callSentences({ ...facts(0, approvals), corrections }), limits).text;
    expect(text(0)).toContain('There is nothing to approve.');
    expect(text(1)).toContain('1 proposal waits for your approval. Awaiting approval: Proposal 0 to update the canonical refund procedure.');
    // The count is of all that wait, not of the titles read out.
    expect(text(7)).toContain('7 proposals wait for your approval.');
    expect(text(7).match(/Awaiting approval:/g)).toHaveLength(3);
    expect(text(0, 1)).toContain('1 correction applied.');
    expect(text(0, 4)).toContain('4 corrections applied.');
    expect(text(0)).not.toContain('correction');
  });

  it('never runs past 60 s at 150 words a minute, dropping whole sentences, least important first', () => {
    const sentences = callSentences(facts(5, 3));
    const full = sentences.reduce((n, s) => n + wordCount(s.text), 0);
    expect(full).toBeGreaterThan(150);
    const script = fitScript(sentences, limits);
    expect(script.words).toBeLessThanOrEqual(150);
    expect(script.seconds).toBeLessThanOrEqual(60);
    expect(script.dropped).toBeGreaterThan(0);
    // Whole sentences only, in their original order.
    const texts = sentences.map((s) => s.text);
    const kept = script.sentences.map((s) => texts.indexOf(s.text));
    expect(kept.every((i) => i >= 0)).toBe(true);
    expect([...kept].sort((a, b) => a - b)).toEqual(kept);
    // Everything dropped mattered no more than anything kept.
    const keptImportance = Math.min(...script.sentences.map((s) => s.importance));
    const dropped = sentences.filter((s) => !script.sentences.some((k) => k.text === s.text));
    expect(Math.max(...dropped.map((s) => s.importance))).toBeLessThanOrEqual(keptImportance);
    expect(script.text).toContain('Good morning.');
  });
});

describe('the local day', () => {
  it('is the calendar date in the given zone, not UTC', () => {
    expect(localDay(new Date('2026-11-24T05:59:00Z'), 'America/Chicago')).toBe('2026-11-23');
    expect(localDay(new Date('2026-11-24T06:00:00Z'), 'America/Chicago')).toBe('2026-11-24');
  });
});
