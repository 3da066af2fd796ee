/**
 * The spec's alert routing, as data: which way a notification goes and what stops it. Pure, so
 * the routing matrix is tested without a server and the router and docs read one table.
 */
import type { ControlFlags } from '../controls-model';
import { SKIP_REASONS } from '../definitions';
import { isQuietHours } from '../quiet-hours';
import type { Channel, NotificationRoute, Severity } from '../store/schema';

/** SEV0 a call now, SEV1 an SMS now, WARN and INFO wait for the daily digest. */
export const SEVERITY_ROUTES: Readonly<Record<Severity, NotificationRoute>> = {
  SEV0: 'call',
  SEV1: 'sms',
  WARN: 'digest',
  INFO: 'digest',
};

/** Only emergencies reach the operator inside quiet hours. */
export const BYPASSES_QUIET_HOURS: Readonly<Record<Severity, boolean>> = { SEV0: true, SEV1: true, WARN: false, INFO: false };

/**
 * The channels that can carry a route, best first. The first that is configured and has an
 * allowlisted recipient is used; `console` (the log) only when no provider is configured at all.
 */
export const CHANNELS_FOR_ROUTE: Readonly<Record<Exclude<NotificationRoute, 'digest'>, readonly Channel[]>> = {
  call: ['voice', 'sms', 'telegram'],
  sms: ['sms', 'telegram'],
  text: ['telegram'],
};

export interface RouteRequest {
  severity: Severity;
  /** A scheduled message names its own way (the digest is a text, the morning call a call). */
  deliver?: 'call' | 'text';
  type?: string;
}

/**
 * Messages the operator booked for a time of their choosing: the morning call, and its text when
 * the call fails. Quiet hours hold back alerts, not the alarm the operator set (its job runs in
 * quiet hours too: runsInQuietHours in src/jobs.ts). The digest is not booked this way.
 */
export const BOOKED_MESSAGE_TYPES: ReadonlySet<string> = new Set(['morning_call', 'morning_call_text']);

export function routeOf(request: RouteRequest): NotificationRoute {
  return request.deliver ?? SEVERITY_ROUTES[request.severity];
}

export const HELD_FOR_DIGEST = 'held for the daily digest';

export type Gate = { stop: 'suppressed'; reason: string } | { stop: 'held'; reason: string } | undefined;

/** What the controls and the clock say before any channel is looked at. */
export function gate(request: RouteRequest, controls: Pick<ControlFlags, 'killSwitch' | 'commsEnabled' | 'quietHours'>, now: Date): Gate {
  if (controls.killSwitch) return { stop: 'suppressed', reason: SKIP_REASONS.killSwitch };
  // Holding sends nothing: with comms off, what waits for the digest still waits for the next one
  // that is actually sent, instead of being dropped.
  if (routeOf(request) === 'digest') return { stop: 'held', reason: HELD_FOR_DIGEST };
  if (!controls.commsEnabled) return { stop: 'suppressed', reason: SKIP_REASONS.commsDisabled };
  const booked = request.type !== undefined && BOOKED_MESSAGE_TYPES.has(request.type);
  if (!BYPASSES_QUIET_HOURS[request.severity] && !booked && isQuietHours(now, controls.quietHours)) {
    return { stop: 'suppressed', reason: SKIP_REASONS.quietHours };
  }
  return undefined;
}
