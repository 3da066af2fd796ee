/**
 * Bearer-token authentication of the /v1 routes. The token is compared in constant time over
 * SHA-256 digests (equal lengths whatever was sent), so neither its content nor its length leaks
 * through response times.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const REALM = 'personal-ops';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function tokenMatches(expected: string, presented: string): boolean {
  return timingSafeEqual(digest(expected), digest(presented));
}

/** The token in `Authorization: Bearer <token>`, or undefined when the header is absent or of another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
  return match?.[1];
}

/** An onRequest hook: 401 with WWW-Authenticate: Bearer unless the request carries the token. */
export function requireBearer(token: string) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const presented = bearerToken(request.headers.authorization);
    if (presented === undefined) {
      await reply
        .code(401)
        .header('www-authenticate', `Bearer realm="${REALM}"`)
        .send({ error: 'authentication required: send Authorization: Bearer <OPS_API_TOKEN>' });
      return;
    }
    if (!tokenMatches(token, presented)) {
      await reply
        .code(401)
        .header('www-authenticate', `Bearer realm="${REALM}", error="invalid_token"`)
        .send({ error: 'invalid bearer token' });
    }
  };
}
