/** What both webhook routes need from a request: its body as bytes, one header, zod issues in one line. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';

/**
 * In this scope JSON bodies arrive as the raw bytes (a signature is over them, not over a
 * re-serialization), at most `bodyLimit` of them (more: 413); other content types get 415.
 */
export function rawJsonParser(scope: FastifyInstance, bodyLimit: number): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));
}

/** A header's value; a repeated header counts as its first value. */
export function firstHeader(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** At most a few issues, each `path: message`, so a hostile body cannot make the answer huge. */
export function issuesText(error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`);
  const more = error.issues.length > shown.length ? `; and ${error.issues.length - shown.length} more` : '';
  return `${shown.join('; ')}${more}`;
}
