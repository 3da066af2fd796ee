/**
 * The two daily messages. Gathering and wording only read; sending goes through the router
 * under a per-day key, so a second run the same day (manual, retried, after a crash) finds the
 * day's message settled and sends nothing.
 */
import { configSecrets } from '../config';
import { ValidationError } from '../errors';
import { callSentences, fitScript, type CallScript } from '../notifications/call-script';
import { formatDigest, type DigestMetrics } from '../notifications/digest';
import {
  apiCallsSince,
  bySeverityThenRecency,
  getNotification,
  listAllowlist,
  listHeld,
  listIncidents,
  listNotifications,
  markDelivered,
  memoryCorrectionsBetween,
  openDeadLetterCount,
  pendingApprovals,
  proposalCounts,
  runsSince,
  seriousIncidentsSince,
  SETTLED_STATUSES,
  urgentNotificationsSince,
  type NotificationRow,
} from '../store';
import type { ActivityDeps } from './deps';
import { reportAlert } from './alerts';
import { type NotificationOutcome, type Notifier } from './notify';

const DAY_MS = 24 * 3600_000;
const OVERNIGHT_MS = 12 * 3600_000;

export const digestKey = (day: string) => `daily_digest:${day}`;
export const callKey = (day: string) => `morning_call:${day}`;
export const callTextKey = (day: string) => `morning_call:${day}:text`;

export interface DigestPreview {
  day: string;
  key: string;
  /** Set when today's digest already went out (or may have: an unknown outcome). */
  alreadySent: { status: string; at: string; workflowId: string | null } | null;
  text: string;
  metrics: DigestMetrics;
  bullets: string[];
  /** Held notifications this digest carries; marked delivered once a real channel sends it (not the console). */
  heldIds: number[];
}

export interface CallPreview {
  day: string;
  alreadyMade: { key: string; status: string; at: string } | null;
  script: CallScript;
}

export function createMessageActivities(deps: ActivityDeps, notifier: Notifier) {
  const { store, config, now } = deps;
  const db = store.db;

  /** Credentials and every allowlisted address: none may appear in what we say. */
  async function secrets(): Promise<string[]> {
    const addresses = (await listAllowlist(db, { includeRemoved: true })).map((a) => a.address);
    return [...configSecrets(config), ...addresses];
  }

  async function settled(key: string): Promise<NotificationRow | undefined> {
    const row = await getNotification(db, key);
    return row && SETTLED_STATUSES.includes(row.status) ? row : undefined;
  }

  return {
    /** Today's digest as it would be sent; read-only (opsctl digest preview prints it). */
    async prepareDigest(args: { day: string }): Promise<DigestPreview> {
      const at = now();
      const since = new Date(at.getTime() - DAY_MS);
      const window = { since, until: at };
      const [runs, incidents, apiCalls, held, urgent, sent, proposals, waiting, memoryCorrected] = await Promise.all([
        runsSince(db, since),
        seriousIncidentsSince(db, since),
        apiCallsSince(db, since),
        listHeld(db),
        urgentNotificationsSince(db, since),
        settled(digestKey(args.day)),
        proposalCounts(db, window),
        pendingApprovals(db, at, { newSince: since, limit: 0 }),
        memoryCorrectionsBetween(db, window),
      ]);
      const metrics: DigestMetrics = {
        new_proposals: proposals.created,
        new_incidents: incidents,
        corrections_applied: proposals.applied + memoryCorrected,
        workflows_executed: runs.executed,
        workflows_failed: runs.failed,
        api_calls: apiCalls,
      };
      const items = [...held, ...urgent].sort(bySeverityThenRecency);
      const digest = formatDigest({
        day: args.day,
        timeZone: config.timezone,
        metrics,
        items: items.map((n) => ({ severity: n.severity, title: n.title, createdAt: n.created_at })),
        maxBullets: config.comms.digest.maxBullets,
        secrets: await secrets(),
        heldKept: notifier.consoleOnly() ? held.length : 0,
        pendingApprovals: { total: waiting.total, new: waiting.new },
        corrections: { proposalsApplied: proposals.applied, memoryCorrected },
      });
      return {
        day: args.day,
        key: digestKey(args.day),
        alreadySent: sent ? { status: sent.status, at: sent.sent_at ?? sent.updated_at, workflowId: sent.workflow_id } : null,
        text: digest.text,
        metrics,
        bullets: digest.bullets,
        heldIds: held.map((n) => n.id),
      };
    },

    /**
     * Sends the digest under the day's key, then marks the held notifications it carried. A
     * digest that went to the console delivered nothing to a person: they stay held.
     */
    async sendDigest(args: { preview: DigestPreview; workflowId: string }): Promise<NotificationOutcome & { delivered: number; heldKept: number }> {
      const { preview } = args;
      const outcome = await notifier.route({
        idempotencyKey: preview.key,
        severity: 'INFO',
        type: 'daily_digest',
        title: 'Daily Digest',
        body: preview.text,
        deliver: 'text',
        meta: { ...preview.metrics, day: preview.day },
        workflowId: args.workflowId,
      });
      if (outcome.status === 'refused') throw new ValidationError(`daily digest not sent: ${outcome.reason}`);
      const carried = outcome.status === 'sent' && outcome.channel !== 'console';
      const delivered = carried ? await markDelivered(db, preview.heldIds, preview.key, now()) : 0;
      const heldKept = outcome.status === 'sent' && !carried ? preview.heldIds.length : 0;
      return { ...outcome, delivered, heldKept };
    },

    /** The morning call's script; read-only. */
    async prepareCallScript(args: { day: string }): Promise<CallPreview> {
      const at = now();
      const since = new Date(at.getTime() - OVERNIGHT_MS);
      const overnight = { since, until: at };
      const [runs, open, deadLetters, waiting, proposals, memoryCorrected, call, text] = await Promise.all([
        runsSince(db, since),
        listIncidents(db, { status: 'open', limit: 50 }),
        openDeadLetterCount(db),
        pendingApprovals(db, at, { limit: 3 }),
        proposalCounts(db, overnight),
        memoryCorrectionsBetween(db, overnight),
        settled(callKey(args.day)),
        settled(callTextKey(args.day)),
      ]);
      const made = call ?? text;
      const sentences = callSentences({
        runs,
        open,
        deadLetters,
        approvals: { total: waiting.total, titles: waiting.newest.map((p) => p.title) },
        corrections: proposals.applied + memoryCorrected,
        day: args.day,
      });
      const script = fitScript(sentences, { ...config.comms.morningCall, secrets: await secrets() });
      return {
        day: args.day,
        alreadyMade: made ? { key: made.idempotency_key, status: made.status, at: made.sent_at ?? made.updated_at } : null,
        script,
      };
    },

    async placeMorningCall(args: { day: string; script: string; workflowId: string }): Promise<NotificationOutcome> {
      const outcome = await notifier.route({
        idempotencyKey: callKey(args.day),
        severity: 'INFO',
        type: 'morning_call',
        title: 'Morning Status Call',
        body: args.script,
        deliver: 'call',
        meta: { call_type: 'status_summary' },
        workflowId: args.workflowId,
      });
      if (outcome.status === 'refused') throw new ValidationError(`morning call not placed: ${outcome.reason}`);
      return outcome;
    },

    /**
     * The call failed twice: the same script as a text. Mornings in a row whose call failed
     * raise an alert at the configured count.
     */
    async sendCallFallback(args: { day: string; script: string; workflowId: string; callError: string }): Promise<
      NotificationOutcome & { failedMornings: number }
    > {
      const outcome = await notifier.route({
        idempotencyKey: callTextKey(args.day),
        severity: 'INFO',
        type: 'morning_call_text',
        title: 'Morning status (the call failed)',
        body: args.script,
        deliver: 'text',
        meta: { call_type: 'status_summary', fallback: true },
        workflowId: args.workflowId,
      });
      const failedMornings = await failedCallsInARow();
      if (failedMornings >= config.comms.morningCall.failuresAlert) {
        // One open incident while the mornings keep failing (each counted on it); a call that goes
        // through resolves it (resolvers.ts), and the next streak alerts again.
        await reportAlert(deps, notifier, {
          type: 'morning_call_failing',
          subject: 'morning_call',
          severity: 'SEV1',
          title: `The morning call failed ${failedMornings} mornings in a row`,
          body: `Last error: ${args.callError}`,
          job: 'morning_call',
          relatedWorkflowId: args.workflowId,
          now: now(),
        });
      }
      if (outcome.status === 'refused') throw new ValidationError(`morning call text not sent: ${outcome.reason}`);
      return { ...outcome, failedMornings };
    },
  };

  async function failedCallsInARow(): Promise<number> {
    const calls = await listNotifications(db, { type: 'morning_call', limit: 200 });
    let streak = 0;
    for (const call of calls) {
      if (call.status !== 'failed') break;
      streak += 1;
    }
    return streak;
  }
}
