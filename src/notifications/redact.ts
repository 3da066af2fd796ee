/**
 * Keeps secrets out of anything we send: every known credential and allowlisted address by
 * value, and whatever looks like a token, key or phone number by shape.
 */

export const REDACTED = '[redacted]';

const SHAPES: readonly RegExp[] = [
  // Authorization headers and key=value credentials.
  /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\b(api[_-]?key|token|secret|password|auth[_-]?token)\s*[:=]\s*\S+/gi,
  // Telegram bot tokens (123456:ABC...), Notion (secret_/ntn_), HubSpot (pat-), Stripe-like (sk-/pk-).
  /\b\d{6,}:[A-Za-z0-9_-]{20,}\b/g,
  /\b(secret|ntn|pat|sk|pk|xox[abp])[_-][A-Za-z0-9_-]{10,}/gi,
  // Twilio account SIDs and other long hex or base64 runs.
  /\bAC[0-9a-fA-F]{32}\b/g,
  /\b[A-Fa-f0-9]{32,}\b/g,
  /\b[A-Za-z0-9+/_-]{40,}={0,2}/g,
  // Phone numbers: + and 7 to 15 digits with separators, or a bare 3-3-4 (US) number.
  /\+\(?\d[\d\s().-]{5,}\d/g,
  /(?<![\d-])\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?![\d-])/g,
];

export function redact(text: string, known: readonly string[] = []): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...new Set(known)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(REDACTED);
  }
  for (const shape of SHAPES) out = out.replace(shape, REDACTED);
  return out;
}
