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
    new_proposals: null,
    new_incidents: 3,
    corrections_applied: null,
    workflows_executed: 40,
    workflows_failed: 2,
    api_calls: 120,
  };
  const items = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ severity: 'WARN' as const, title: `item ${i}`, createdAt: `2026-11-23T0${i % 10}:00:00.000Z` }));

  it('has at most the configured bullets, says how many more, and every metric', () => {
    const digest = formatDigest({ day: '2026-11-23', timeZone: 'America/Chicago', metrics, items: items(8), maxBullets: 5, secrets: [] });
    expect(digest.bullets).toHaveLength(5);
    expect(digest.more).toBe(3);
    expect(digest.text.split('\n').filter((l) => l.startsWith('• '))).toHaveLength(5);
    expect(digest.text).toContain('Runs: 40 (2 failed)');
    expect(digest.text).toContain('New incidents: 3');
    expect(digest.text).toContain('API calls: 120');
    expect(digest.text).toContain('Proposals: not tracked yet');
    expect(digest.text).toContain('(+3 more');
  });

  it('keeps planted secrets out of the bullets', () => {
    const secretItems = [
      { severity: 'SEV1' as const, title: 'HubSpot rejected pat-na1-aaaa-bbbb-cccc-dddddddddddd', createdAt: '2026-11-23T01:00:00.000Z' },
      { severity: 'WARN' as const, title: 'call to +15551234567 failed', createdAt: '2026-11-23T01:00:00.000Z' },
      { severity: 'WARN' as const, title: 'token mytoken-value leaked', createdAt: '2026-11-23T01:00:00.000Z' },
    ];
    const digest = formatDigest({ day: '2026-11-23', timeZone: 'UTC', metrics, items: secretItems, maxBullets: 5, secrets: ['mytoken-value'] });
    for (const secret of ['pat-na1-aaaa', '+15551234567', 'mytoken-value']) expect(digest.text).not.toContain(secret);
  });

  it('a digest going to the console says its held alerts stay held; one through a real channel says nothing of it', () => {
    const base = { day: '2026-11-23', timeZone: 'UTC', metrics, items: items(8), maxBullets: 5, secrets: [] };
    expect(formatDigest({ ...base, heldKept: 8 }).text).toContain(
      'Console only (no provider configured): 8 held alerts stay held for the first digest sent through a real channel.',
    );
    expect(formatDigest({ ...base, heldKept: 1 }).text).toContain('1 held alert stays held');
    expect(formatDigest(base).text).not.toContain('Console only');
  });

  it('says so when nothing needs attention', () => {
    expect(formatDigest({ day: '2026-11-23', timeZone: 'UTC', metrics, items: [], maxBullets: 5, secrets: [] }).text).toContain(
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
    approvals: Array.from({ length: approvals }, (_, i) => ({ title: `Proposal ${i} to update the canonical refund procedure` })),
  });
  const limits = { maxSeconds: 60, wordsPerMinute: 150, secrets: [] };

  it('has the three sections when they fit', () => {
    const script = fitScript(callSentences(facts(1, 1)), limits);
    expect(script.dropped).toBe(0);
    expect(new Set(script.sentences.map((s) => s.section))).toEqual(
      new Set(['opening', 'overnight_activity', 'critical_incidents', 'pending_approvals', 'closing']),
    );
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
