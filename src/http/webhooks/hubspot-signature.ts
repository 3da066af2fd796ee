/**
 * HubSpot's v3 request signature (developers.hubspot.com, "Validating requests"):
 * X-HubSpot-Signature-v3 = base64(HMAC-SHA256(clientSecret, method + uri + body + timestamp)),
 * X-HubSpot-Request-Timestamp in epoch milliseconds; a request older than 5 minutes is refused.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** HubSpot signs the URI with these escapes decoded (its documented table), the rest as sent. */
const DECODED_IN_URI: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

export function hubspotSignedUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (escape) => DECODED_IN_URI[escape.toUpperCase()] ?? escape);
}

export function hubspotSignatureV3(secret: string, request: { method: string; uri: string; body: Buffer; timestamp: string }): string {
  return createHmac('sha256', secret)
    .update(request.method.toUpperCase())
    .update(hubspotSignedUri(request.uri))
    .update(request.body)
    .update(request.timestamp)
    .digest('base64');
}

export interface SignedRequest {
  method: string;
  /** scheme://host/path?query as HubSpot called it. */
  uri: string;
  body: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
}

export type Verdict = { ok: true; timestampMs: number } | { ok: false; reason: string };

/** A timestamp this far ahead of our clock is still accepted (clock skew), no further. */
export const MAX_FUTURE_SKEW_MS = 60_000;

export function verifyHubSpotRequest(secret: string, req: SignedRequest, options: { nowMs: number; maxAgeSeconds: number }): Verdict {
  if (!req.signature) return { ok: false, reason: 'X-HubSpot-Signature-v3 header is missing' };
  if (!req.timestamp) return { ok: false, reason: 'X-HubSpot-Request-Timestamp header is missing' };
  if (!/^\d{1,16}$/.test(req.timestamp)) return { ok: false, reason: 'X-HubSpot-Request-Timestamp is not epoch milliseconds' };
  const timestampMs = Number(req.timestamp);
  if (options.nowMs - timestampMs > options.maxAgeSeconds * 1000) return { ok: false, reason: `request timestamp is older than ${options.maxAgeSeconds} s` };
  if (timestampMs - options.nowMs > MAX_FUTURE_SKEW_MS) return { ok: false, reason: 'request timestamp is in the future' };
  const expected = hubspotSignatureV3(secret, { method: req.method, uri: req.uri, body: req.body, timestamp: req.timestamp });
  if (!constantTimeEqual(expected, req.signature)) return { ok: false, reason: 'signature does not match' };
  return { ok: true, timestampMs };
}

/** Equal-length digests of both sides: the comparison's time says nothing about either, length included. */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}
