/**
 * Every refusal and failure of the HTTP API as one JSON shape, { error, issues? }: a message
 * that names what was wrong, never a stack trace. 4xx: the request was wrong and nothing changed;
 * 5xx: the system could not do it now.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { OpsClientError } from '../client';
import { clip, escapeUnprintable, InvalidControlsChange } from '../controls-model';
import { innermostMessage, lostTemporal, storeUnavailable } from '../failure-causes';

const MESSAGE_MAX = 1000;

export interface ErrorIssue {
  path: string;
  message: string;
}

export interface ErrorBody {
  error: string;
  issues?: ErrorIssue[];
}

/** A refusal a route decides itself (404 unknown job, ...). */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Text from outside (a job name, a content type) fit for a response: printable and bounded. */
export function safeText(text: string, max = MESSAGE_MAX): string {
  return clip(escapeUnprintable(text), max);
}

/** Fastify's own refusals (content type, body, JSON) and what we say instead of its wording. */
const FASTIFY_REFUSALS: Record<string, (contentType: string | undefined) => string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (contentType) => `unsupported content type ${contentType ? `"${safeText(contentType, 100)}"` : '(none)'}: send application/json`,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => 'the request body does not match its Content-Length',
  FST_ERR_CTP_EMPTY_JSON_BODY: () => 'the body is empty but its content type says JSON: send a JSON object or no content type',
  FST_ERR_CTP_BODY_TOO_LARGE: () => 'the request body is too large',
  FST_ERR_CTP_INVALID_JSON_BODY: () => 'malformed JSON body',
};

export function toErrorResponse(err: unknown, contentType?: string): { statusCode: number; body: ErrorBody } {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = (err as { validationContext?: string }).validationContext ?? 'request';
    const issues = err.validation.map((v) => ({
      path: safeText(v.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)', 200),
      message: safeText(v.message ?? 'invalid', 300),
    }));
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    return { statusCode: 400, body: { error: safeText(`invalid ${where}: ${summary}`), issues } };
  }
  if (err instanceof HttpError) return { statusCode: err.statusCode, body: { error: safeText(err.message) } };
  if (err instanceof OpsClientError || err instanceof InvalidControlsChange) {
    return { statusCode: 400, body: { error: safeText(err.message) } };
  }
  if (err instanceof WorkflowUpdateFailedError) {
    if (storeUnavailable(err)) {
      // The request was good; the store could not take it, so nothing changed and it may be tried again.
      return { statusCode: 503, body: { error: safeText(`the controls were not changed: ${innermostMessage(err)}`) } };
    }
    // ops-controls validates every Update again; a rejection there is a conflict with its state.
    return { statusCode: 409, body: { error: safeText(`the controls refused the change: ${err.cause?.message ?? err.message}`) } };
  }
  const fastifyError = err as Partial<FastifyError> | undefined;
  if (fastifyError?.code && FASTIFY_REFUSALS[fastifyError.code]) {
    return { statusCode: fastifyError.statusCode ?? 400, body: { error: safeText(FASTIFY_REFUSALS[fastifyError.code]!(contentType)) } };
  }
  if (err instanceof SyntaxError && fastifyError?.statusCode === 400) return { statusCode: 400, body: { error: 'malformed JSON body' } };
  if (typeof fastifyError?.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return { statusCode: fastifyError.statusCode, body: { error: safeText(fastifyError.message ?? 'bad request') } };
  }
  if (lostTemporal(err)) return { statusCode: 503, body: { error: 'Temporal is unreachable now; try again' } };
  return { statusCode: 500, body: { error: 'internal error (logged)' } };
}

/** The app's error handler: 5xx are logged at warn with the error; the reply never carries a stack. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { statusCode, body } = toErrorResponse(err, request.headers['content-type']);
  if (statusCode >= 500) request.log.warn({ err, method: request.method, url: request.url, statusCode }, 'request failed');
  return reply.code(statusCode).type('application/json; charset=utf-8').send(body);
}

