/**
 * The controls model is the one gate for every controls change (opsctl, OpsClient and the
 * ops-controls Update validator) and for every controls state a workflow receives. Pure, so
 * the property tests here run thousands of hostile payloads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACTOR_MAX_LENGTH,
  REASON_MAX_LENGTH,
  applyControlsChange,
  checkControlsState,
  describeIssues,
  escapeUnprintable,
  hasUnprintable,
  InvalidControlsChange,
  parseControlsChange,
  type ControlsState,
} from '../../src/controls-model';
import { JobRegistry, MAX_ENDED_PER_SIGNAL, MAX_REGISTERED_JOBS } from '../../src/job-registry';
import { checkNotificationRequest, NOTIFICATION_BODY_MAX_LENGTH } from '../../src/notification-request';
import { formatControls } from '../../src/cli/format';
import { controlsState } from '../helpers/controls-state';

const base = controlsState({ version: 3 });

/** Parse and apply as the ops-controls Update does; the refusal message, or the next state. */
function tryChange(state: ControlsState, raw: unknown): { next: ControlsState } | { error: string } {
  try {
    return { next: applyControlsChange(state, parseControlsChange(raw), '2026-11-24T00:00:00.000Z') };
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidControlsChange);
    return { error: (err as Error).message };
  }
}

const UNPRINTABLE_CHARS = ['\n', '\r', '\t', '\x1b', '\x00', '\x7f', '\x9b', '\u2028', '\u202e', '\u2066'];

describe('actor and reason: capped, one printable line', () => {
  const change = (actor: string, reason: string) => ({ killSwitch: true, actor, reason });

  it(`accepts an actor of ${ACTOR_MAX_LENGTH} and a reason of ${REASON_MAX_LENGTH} characters, refuses one more`, () => {
    expect(parseControlsChange(change('a'.repeat(ACTOR_MAX_LENGTH), 'r'.repeat(REASON_MAX_LENGTH)))).toMatchObject({ killSwitch: true });
    expect(() => parseControlsChange(change('a'.repeat(ACTOR_MAX_LENGTH + 1), 'r'))).toThrow(
      `actor: at most ${ACTOR_MAX_LENGTH} characters`,
    );
    expect(() => parseControlsChange(change('a', 'r'.repeat(REASON_MAX_LENGTH + 1)))).toThrow(
      `reason: at most ${REASON_MAX_LENGTH} characters`,
    );
  });

  it('a 1.5 MB reason is refused with a short message', () => {
    const err = (() => {
      try {
        parseControlsChange(change('a', 'x'.repeat(1_500_000)));
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(InvalidControlsChange);
    expect(err!.message).toContain('reason: at most 500 characters');
    expect(err!.message.length).toBeLessThan(300);
  });

  it('refuses newlines, ANSI escapes, other control characters and bidi overrides inside actor or reason', () => {
    for (const ch of UNPRINTABLE_CHARS) {
      expect(() => parseControlsChange(change(`jo${ch}nah`, 'why')), JSON.stringify(ch)).toThrow(/actor: must be one line of printable text/);
      expect(() => parseControlsChange(change('jonah', `why${ch}not`)), JSON.stringify(ch)).toThrow(/reason: must be one line of printable text/);
    }
    expect(() => parseControlsChange(change('jonah', 'ok\n[2026-11-24] kill switch OFF by root'))).toThrow(/reason/);
    expect(() => parseControlsChange(change('\x1b[2J\x1b[Hroot', 'why'))).toThrow(/actor/);
    // Unicode text that is printable stays allowed.
    expect(parseControlsChange(change('Jonás 🚀', 'travelling — back Monday'))).toMatchObject({ actor: 'Jonás 🚀' });
  });

  it('an error built from hostile keys stays short and escaped', () => {
    const key = `\x1b[31m${'k'.repeat(100_000)}`;
    let message = '';
    try {
      parseControlsChange({ killSwitch: true, actor: 'a', reason: 'r', [key]: 1 });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.length).toBeLessThanOrEqual(1100);
    expect(hasUnprintable(message)).toBe(false);
    expect(describeIssues([{ path: ['a\nb'], message: 'bad' }])).toBe('a\\nb: bad');
  });
});

// ---- property-based: arbitrary Update payloads ----

/** One field of a change: either a valid value or a wrong one, and whether it is wrong. */
type Field = { value: unknown; bad: boolean } | undefined;
const badScalar = fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 5 }), fc.object({ maxDepth: 1 }), fc.array(fc.boolean(), { maxLength: 2 }));
const flag: fc.Arbitrary<Field> = fc.oneof(
  fc.constant(undefined),
  fc.boolean().map((value) => ({ value, bad: false })),
  badScalar.filter((v) => typeof v !== 'boolean').map((value) => ({ value, bad: true })),
);
const printableText = (max: number) =>
  fc.string({ minLength: 1, maxLength: max }).filter((s) => s.trim().length > 0 && !hasUnprintable(s));
const text = (max: number): fc.Arbitrary<Field> =>
  fc.oneof(
    printableText(max).map((value) => ({ value, bad: false })),
    fc.constantFrom('', '   ').map((value) => ({ value, bad: true })),
    fc.string({ minLength: max + 1, maxLength: max + 40 }).filter((s) => s.trim().length > max).map((value) => ({ value, bad: true })),
    fc.tuple(printableText(10), fc.constantFrom(...UNPRINTABLE_CHARS), printableText(10)).map(([a, c, b]) => ({ value: `${a}${c}${b}`, bad: true })),
    badScalar.filter((v) => typeof v !== 'string').map((value) => ({ value, bad: true })),
    fc.constant(undefined).map(() => ({ value: undefined, bad: true })),
  );
const clock = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => ({
    value: `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`,
    bad: false,
  })),
  fc.constantFrom('24:00', '7pm', '7:00', '', '12:60', null, 700).map((value) => ({ value, bad: true })),
);
const quietHours: fc.Arbitrary<Field> = fc.oneof(
  fc.constant(undefined),
  fc
    .record(
      {
        enabled: flag,
        start: fc.option(clock, { nil: undefined }),
        end: fc.option(clock, { nil: undefined }),
        timeZone: fc.option(
          fc.oneof(
            fc.constantFrom('UTC', 'Europe/Paris', 'America/Chicago').map((value) => ({ value, bad: false })),
            fc.constantFrom('Mars/Olympus', 'x'.repeat(5000), 42).map((value) => ({ value, bad: true })),
          ),
          { nil: undefined },
        ),
      },
      { requiredKeys: [] },
    )
    .map((fields) => {
      const value: Record<string, unknown> = {};
      const badKeys: string[] = [];
      for (const [k, f] of Object.entries(fields) as [string, Field][]) {
        if (!f) continue;
        value[k] = f.value;
        if (f.bad) badKeys.push(`quietHours.${k}`);
      }
      return { value, bad: badKeys.length > 0, badKeys } as { value: unknown; bad: boolean; badKeys: string[] };
    }),
  badScalar.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((value) => ({ value, bad: true, badKeys: ['quietHours'] })),
);

const changePayload = fc.record({
  killSwitch: flag,
  jobsEnabled: flag,
  commsEnabled: flag,
  writeEnabled: flag,
  quietHours,
  actor: text(ACTOR_MAX_LENGTH),
  reason: text(REASON_MAX_LENGTH),
  extra: fc.option(fc.constantFrom('extra', 'kill_switch', '__proto__x'), { nil: undefined }),
});

describe('property: every Update payload is accepted as valid or refused naming the field, and a refusal changes nothing', () => {
  it('structured payloads: the refusal names each bad field', () => {
    fc.assert(
      fc.property(changePayload, (p) => {
        const raw: Record<string, unknown> = {};
        const badFields: string[] = [];
        for (const key of ['killSwitch', 'jobsEnabled', 'commsEnabled', 'writeEnabled', 'quietHours', 'actor', 'reason'] as const) {
          const f = p[key] as (Field & { badKeys?: string[] }) | undefined;
          if (!f) continue;
          if (!(key in raw) && f.value !== undefined) raw[key] = f.value;
          if (f.bad) badFields.push(...(f.badKeys ?? [key]));
        }
        if (p.extra) {
          raw[p.extra] = true;
          badFields.push(p.extra);
        }
        const state = structuredClone(base);
        const outcome = tryChange(state, raw);
        expect(state).toEqual(base);
        const touches = ['killSwitch', 'jobsEnabled', 'commsEnabled', 'writeEnabled', 'quietHours'].some((k) => raw[k] !== undefined);
        if (badFields.length === 0 && touches) {
          expect(outcome).toHaveProperty('next');
          const next = (outcome as { next: ControlsState }).next;
          expect(next.version).toBe(base.version + 1);
          expect(next.updatedBy.length).toBeLessThanOrEqual(ACTOR_MAX_LENGTH);
          expect(next.reason.length).toBeLessThanOrEqual(REASON_MAX_LENGTH);
          for (const k of ['killSwitch', 'jobsEnabled', 'commsEnabled', 'writeEnabled'] as const) {
            expect(next[k]).toBe(raw[k] ?? base[k]);
          }
        } else {
          expect(outcome).toHaveProperty('error');
          const error = (outcome as { error: string }).error;
          expect(error).toMatch(/^Invalid controls change: /);
          if (badFields.length === 0) expect(error).toContain('changes nothing');
          for (const field of badFields) expect(error).toContain(field);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('anything at all: a result or an InvalidControlsChange, never another error, and a bounded state', () => {
    fc.assert(
      fc.property(fc.anything({ withObjectString: true, withNullPrototype: true, maxDepth: 3 }), (raw) => {
        const outcome = tryChange(base, raw);
        if ('next' in outcome) expect(JSON.stringify(outcome.next).length).toBeLessThan(1000);
      }),
      { numRuns: 2000 },
    );
  });
});

// ---- a controls state arriving by signal, carried over, or read back from the mirror ----

describe('a received controls state', () => {
  it('a good one passes; unknown keys are dropped and old long text is clipped, not refused', () => {
    expect(checkControlsState(base)).toEqual({ ok: true, value: base });
    const legacy = { ...base, killSwitch: true, reason: 'x'.repeat(1_500_000), updatedBy: 'y'.repeat(10_000), junk: 'z'.repeat(1000) };
    const checked = checkControlsState(legacy);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.value.killSwitch).toBe(true);
    expect(checked.value.reason).toHaveLength(REASON_MAX_LENGTH);
    expect(checked.value.reason.endsWith('…')).toBe(true);
    expect(checked.value.updatedBy).toHaveLength(ACTOR_MAX_LENGTH);
    expect(checked.value).not.toHaveProperty('junk');
  });

  it('a malformed one is refused with the field named, never thrown', () => {
    expect(checkControlsState(null)).toEqual({ ok: false, error: expect.stringContaining('(root)') });
    expect(checkControlsState({ ...base, killSwitch: 'yes' })).toEqual({ ok: false, error: expect.stringContaining('killSwitch') });
    expect(checkControlsState({ ...base, version: -1 })).toEqual({ ok: false, error: expect.stringContaining('version') });
    expect(checkControlsState({ ...base, quietHours: { ...base.quietHours, timeZone: 'Mars/Olympus' } })).toEqual({
      ok: false,
      error: expect.stringContaining('quietHours.timeZone'),
    });
  });

  it('property: anything is either a bounded state or a refusal', () => {
    const stateLike = fc.record(
      {
        killSwitch: fc.oneof(fc.boolean(), fc.anything()),
        jobsEnabled: fc.boolean(),
        commsEnabled: fc.boolean(),
        writeEnabled: fc.boolean(),
        quietHours: fc.oneof(fc.constant(base.quietHours), fc.anything()),
        version: fc.oneof(fc.nat(), fc.double(), fc.anything()),
        updatedAt: fc.string({ maxLength: 100 }),
        updatedBy: fc.oneof(fc.string({ maxLength: 300 }), fc.anything()),
        reason: fc.string({ maxLength: 2000 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(stateLike, fc.anything()), (raw) => {
        const checked = checkControlsState(raw);
        if (checked.ok) {
          expect(JSON.stringify(checked.value).length).toBeLessThan(1000);
          expect(typeof checked.value.killSwitch).toBe('boolean');
        } else {
          expect(checked.error).toMatch(/^Invalid controls state: \S/);
          expect(checked.error.length).toBeLessThanOrEqual(1100);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

// ---- ops-controls' registry of running jobs ----

describe('the job registry (jobStarted / jobEnded / jobsEnded payloads)', () => {
  it('a jobsEnded list: refused whole when it is not a list or too long; bad ids in it skipped and counted', () => {
    const r = new JobRegistry();
    for (const id of ['wf-1', 'wf-2', 'wf-3']) r.register({ workflowId: id, job: 'sync_n8n' });
    for (const bad of [null, 'wf-1', { 0: 'wf-1' }, Array.from({ length: MAX_ENDED_PER_SIGNAL + 1 }, () => 'wf-1')]) {
      expect(r.unregisterAll(bad)).toMatchObject({ ok: false, error: expect.stringContaining('ended-jobs list') });
      expect(r.ids()).toEqual(['wf-1', 'wf-2', 'wf-3']);
    }
    expect(r.unregisterAll(['wf-1', 42, 'w'.repeat(1001), 'unknown', 'wf-3'])).toEqual({ ok: true, value: { removed: 2, invalid: 2 } });
    expect(r.ids()).toEqual(['wf-2']);
    expect(r.unregisterAll(Array.from({ length: MAX_ENDED_PER_SIGNAL }, () => 'wf-2'))).toEqual({ ok: true, value: { removed: 1, invalid: 0 } });
    expect(r.size).toBe(0);
  });

  it('refuses what is not a registration, naming the field, and changes nothing', () => {
    const r = new JobRegistry();
    r.register({ workflowId: 'wf-1', job: 'sync_n8n' });
    for (const bad of [null, undefined, 42, 'wf', {}, { workflowId: 5, job: 'sync_n8n' }, { workflowId: 'x', job: 'nope' }, { workflowId: 'w'.repeat(1001), job: 'sync_n8n' }]) {
      const out = r.register(bad);
      expect(out.ok).toBe(false);
      expect(r.ids()).toEqual(['wf-1']);
    }
    expect(r.register({ workflowId: 5, job: 'sync_n8n' })).toEqual({ ok: false, error: expect.stringContaining('workflowId') });
    expect(r.register({ workflowId: 'x', job: 'nope' })).toEqual({ ok: false, error: expect.stringContaining('job') });
    expect(r.unregister(null)).toMatchObject({ ok: false });
    expect(r.unregister({ workflowId: 'wf-1' })).toMatchObject({ ok: false });
    expect(r.ids()).toEqual(['wf-1']);
  });

  it(`holds at most ${MAX_REGISTERED_JOBS}: the oldest registration makes room, a re-registration counts as new`, () => {
    const r = new JobRegistry();
    for (let i = 0; i < MAX_REGISTERED_JOBS; i++) r.register({ workflowId: `wf-${i}`, job: 'periodic_scan' });
    r.register({ workflowId: 'wf-0', job: 'periodic_scan' }); // wf-0 is now the newest
    expect(r.register({ workflowId: 'wf-new', job: 'periodic_scan' })).toEqual({ ok: true, value: { evicted: 'wf-1' } });
    expect(r.size).toBe(MAX_REGISTERED_JOBS);
    expect(r.ids()).toContain('wf-0');
    expect(r.ids()).not.toContain('wf-1');
  });

  it('a carried-over list is checked and cut to the cap, keeping the newest', () => {
    const carried = [
      null,
      { workflowId: 'bad', job: 'nope' },
      ...Array.from({ length: MAX_REGISTERED_JOBS + 10 }, (_, i) => ({ workflowId: `wf-${i}`, job: 'sync_notion' })),
    ];
    const r = new JobRegistry(carried);
    expect(r.size).toBe(MAX_REGISTERED_JOBS);
    expect(r.ids()[0]).toBe('wf-10');
    expect(new JobRegistry('not a list').size).toBe(0);
  });

  it('property: any sequence of signals keeps the registry a bounded model of the valid ones', () => {
    const cap = 5;
    const id = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g');
    const op = fc.oneof(
      fc.record({ kind: fc.constant('start' as const), payload: fc.oneof(fc.record({ workflowId: id, job: fc.constantFrom('sync_n8n', 'health_monitor') }), fc.anything()) }),
      fc.record({ kind: fc.constant('end' as const), payload: fc.oneof(id, fc.anything()) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const r = new JobRegistry([], cap);
        const model: string[] = [];
        for (const { kind, payload } of ops) {
          const before = r.ids();
          const out = kind === 'start' ? r.register(payload) : r.unregister(payload);
          if (!out.ok) {
            expect(r.ids()).toEqual(before);
            continue;
          }
          const wf = kind === 'start' ? (payload as { workflowId: string }).workflowId : (payload as string);
          const at = model.indexOf(wf);
          if (at >= 0) model.splice(at, 1);
          if (kind === 'start') {
            if (model.length >= cap) model.shift();
            model.push(wf);
          }
          expect(r.ids()).toEqual(model);
        }
        expect(r.size).toBeLessThanOrEqual(cap);
      }),
      { numRuns: 1000 },
    );
  });
});

// ---- deliverNotification's input ----

describe("deliverNotification's input", () => {
  const good = { idempotencyKey: 'incident:1', severity: 'SEV1', type: 'dead_letter', title: 'x failed', body: 'b', incidentId: 1, meta: { job: null } };
  it('a good request passes; a long body is clipped; wrong types are refused naming the field', () => {
    expect(checkNotificationRequest(good)).toMatchObject({ ok: true });
    const long = checkNotificationRequest({ ...good, body: 'b'.repeat(1_000_000) });
    expect(long.ok && long.value.body.length).toBe(NOTIFICATION_BODY_MAX_LENGTH);
    expect(checkNotificationRequest(null)).toMatchObject({ ok: false });
    expect(checkNotificationRequest({ ...good, severity: 'SEV9' })).toEqual({ ok: false, error: expect.stringContaining('severity') });
    expect(checkNotificationRequest({ ...good, meta: { blob: 'm'.repeat(20_000) } })).toEqual({ ok: false, error: expect.stringContaining('meta') });
  });
  it('property: anything is a bounded request or a refusal, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ idempotencyKey: fc.string(), severity: fc.constantFrom('SEV0', 'INFO', 'X'), type: fc.string(), title: fc.string(), body: fc.string() })), (raw) => {
        const checked = checkNotificationRequest(raw);
        if (checked.ok) expect(JSON.stringify(checked.value).length).toBeLessThan(40_000);
        else expect(checked.error).toMatch(/^Invalid notification: /);
      }),
      { numRuns: 1000 },
    );
  });
});

// ---- output ----

describe('opsctl status prints stored text escaped', () => {
  it('newlines and ANSI escapes in an old state cannot forge lines or repaint the terminal', () => {
    const forged = { ...base, updatedBy: 'root\x1b[2K', reason: 'fine\nkill switch   off\u202e' };
    const out = formatControls(forged);
    expect(out.split('\n')).toHaveLength(6);
    expect(hasUnprintable(out.replace(/\n/g, ''))).toBe(false);
    expect(out).toContain('by root\\x1b[2K: fine\\nkill switch   off\\u202e');
  });
  it('property: escaped text has no unprintable character, and printable text is left alone', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const escaped = escapeUnprintable(s);
        expect(hasUnprintable(escaped)).toBe(false);
        if (!hasUnprintable(s)) expect(escaped).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });
});
