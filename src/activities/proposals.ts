/**
 * periodic_scan's steps 3 and 4 ("1. Periodic Scan"): detect_patterns runs every detector over
 * the lookback window, generate_proposals offers each strong pattern to the operator through the
 * store's limits (one pending per kind and subject, the cool-down, the hourly cap) and sends each
 * new proposal through the router as INFO, so the digest carries it.
 */
import { KillSwitchActive } from '../errors';
import { describeAction, proposalActionSchema } from '../proposal-actions';
import { expireProposals, offerProposal, readControls, type ProposalOffer } from '../store';
import type { ActivityDeps } from './deps';
import type { Notifier } from './notify';
import { DETECTORS } from './patterns/table';
import type { Detector, Pattern } from './patterns/types';

/** Patterns handed from step 3 to step 4 through the workflow history: bounded. */
export const MAX_PATTERNS = 200;
const MAX_ERROR_CHARS = 300;
const HOUR_MS = 3600_000;

export interface DetectorRun {
  kind: string;
  /** Patterns it returned, and how many of them reached minConfidence. */
  found: number;
  kept: number;
  /** Set when it threw: the others ran all the same. */
  error?: string;
}

export interface PatternsDetected {
  since: string;
  detectors: DetectorRun[];
  /** Kept patterns, strongest first (at most MAX_PATTERNS; `kept` counts them all). */
  patterns: Pattern[];
  kept: number;
  /** Below minConfidence. */
  belowMinConfidence: number;
}

export interface ProposalsGenerated {
  /** Pending proposals past their time, expired first. */
  expired: number;
  /** Patterns at or over proposeAtConfidence. */
  candidates: number;
  created: { id: number; kind: string; subject: string }[];
  /** Not proposed, and why: the store said so. Over the cap they wait for a later run (the pattern persists). */
  alreadyPending: number;
  coolingDown: number;
  overHourlyCap: number;
  /** Patterns under proposeAtConfidence: kept as patterns, not proposed. */
  belowProposeAt: number;
  /** Patterns handed in malformed (detect_patterns hands none: it names their detector instead). */
  invalid: number;
  /** The router could not take a new proposal's notification (the proposal stands; the next scan routes it). */
  notifyFailed: number;
}

export type GenerateResult = ProposalsGenerated | { skipped: string };

const message = (err: unknown): string => {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}...` : text;
};

/** A pattern is used only if it is well formed; a detector that returns a bad one is named as failed. */
function checkPattern(p: Pattern): string | undefined {
  if (typeof p?.kind !== 'string' || p.kind === '') return 'pattern without a kind';
  if (typeof p.subject !== 'string' || p.subject === '') return `${p.kind}: pattern without a subject`;
  if (typeof p.confidence !== 'number' || !(p.confidence >= 0 && p.confidence <= 1)) return `${p.kind} ${p.subject}: confidence ${String(p.confidence)} is not within 0..1`;
  if (!Array.isArray(p.evidence)) return `${p.kind} ${p.subject}: evidence is not a list`;
  if (typeof p.title !== 'string' || typeof p.summary !== 'string') return `${p.kind} ${p.subject}: title and summary must be text`;
  if (!proposalActionSchema.safeParse(p.action).success) return `${p.kind} ${p.subject}: its action is not one the system knows`;
  return undefined;
}

export function createProposalActivities(deps: ActivityDeps, notifier: Notifier, detectors: readonly Detector[] = DETECTORS) {
  const { store, config, now } = deps;
  const db = store.db;
  const settings = config.proposals;

  /** The router, as INFO: it waits for the digest. Its key makes a second call a no-op. */
  const announce = (id: number, pattern: Pattern) =>
    notifier.route({
      idempotencyKey: `proposal:${id}`,
      severity: 'INFO',
      type: 'proposal',
      title: `Proposal #${id}: ${pattern.title}`,
      body: `${pattern.summary}\nApproving it will ${describeAction(pattern.action)} (confidence ${pattern.confidence.toFixed(2)}).\nopsctl proposals show ${id}`,
      requiresApproval: true,
      meta: { proposalId: id, kind: pattern.kind, subject: pattern.subject },
    });

  return {
    /**
     * Step 3. Reads only. Every detector runs; one that throws (or returns a bad pattern) is named
     * in the result and never stops the others.
     */
    async detectPatterns(): Promise<PatternsDetected> {
      const at = now();
      const since = new Date(at.getTime() - settings.lookbackHours * HOUR_MS);
      const runs: DetectorRun[] = [];
      const kept: Pattern[] = [];
      let below = 0;
      for (const detector of detectors) {
        try {
          const found = await detector.detect({ db, config, now: at, since });
          const bad = found.map(checkPattern).find((e) => e !== undefined);
          if (bad) throw new Error(bad);
          const strong = found.filter((p) => p.confidence >= settings.minConfidence);
          below += found.length - strong.length;
          kept.push(...strong);
          runs.push({ kind: detector.kind, found: found.length, kept: strong.length });
        } catch (err) {
          deps.logger.warn({ detector: detector.kind, error: message(err) }, 'detector failed');
          runs.push({ kind: detector.kind, found: 0, kept: 0, error: message(err) });
        }
      }
      // Strongest first, then by kind and subject: the same rows give the same order.
      kept.sort((a, b) => b.confidence - a.confidence || cmp(a.kind, b.kind) || cmp(a.subject, b.subject));
      return { since: since.toISOString(), detectors: runs, patterns: kept.slice(0, MAX_PATTERNS), kept: kept.length, belowMinConfidence: below };
    },

    /**
     * Step 4. Writes: refused (skipped, with the reason) while writes are off, stopped by the
     * kill switch. Expires what is past its time first, so an expired (kind, subject) may be
     * proposed again at once. A retried attempt offers again: the store's one-pending rule makes
     * that a no-op for what the first attempt created, and the router's key sends nothing twice.
     */
    async generateProposals(input: { patterns: Pattern[] }): Promise<GenerateResult> {
      const controls = await readControls(db);
      if (controls?.killSwitch) throw new KillSwitchActive();
      if (controls && !controls.writeEnabled) return { skipped: 'Writes are disabled' };
      const at = now();
      const expired = await expireProposals(db, at);
      const given = (input?.patterns ?? []).slice(0, MAX_PATTERNS);
      const patterns = given.filter((p) => checkPattern(p) === undefined);
      const result: ProposalsGenerated = {
        expired: expired.length,
        candidates: 0,
        created: [],
        alreadyPending: 0,
        coolingDown: 0,
        overHourlyCap: 0,
        belowProposeAt: 0,
        notifyFailed: 0,
        invalid: given.length - patterns.length,
      };
      const limits = {
        perHour: settings.perHour,
        coolDownMs: settings.coolDownHours * HOUR_MS,
        expiresAfterMs: settings.expiresAfterHours * HOUR_MS,
      };
      for (const pattern of patterns) {
        if (pattern.confidence < settings.proposeAtConfidence) {
          result.belowProposeAt += 1;
          continue;
        }
        result.candidates += 1;
        const offer: ProposalOffer = await offerProposal(
          db,
          {
            kind: pattern.kind,
            subject: pattern.subject,
            title: pattern.title,
            rationale: pattern.summary,
            evidence: pattern.evidence,
            confidence: pattern.confidence,
            action: pattern.action,
            now: at,
          },
          limits,
        );
        if (!offer.created) {
          if (offer.why === 'pending') result.alreadyPending += 1;
          else if (offer.why === 'cooling_down') result.coolingDown += 1;
          else result.overHourlyCap += 1;
          // A pending one whose notification an earlier try lost gets it now (the key sends once).
          if (offer.why === 'pending' && offer.id !== undefined) await announce(offer.id, pattern).catch(() => undefined);
          continue;
        }
        result.created.push({ id: offer.id, kind: pattern.kind, subject: pattern.subject });
        try {
          await announce(offer.id, pattern);
        } catch (err) {
          // The proposal is stored and listed (opsctl, the morning call); the next scan routes it again.
          deps.logger.warn({ proposal: offer.id, error: message(err) }, 'new proposal not routed');
          result.notifyFailed += 1;
        }
      }
      return result;
    },
  };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
