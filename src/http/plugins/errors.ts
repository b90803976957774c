/**
 * Turns every failure into the contract's error body. Client errors map to their code; a store
 * outage is 503 `unavailable`; anything else is a 500 whose body says nothing about the cause
 * (the cause goes to the log, which never holds tokens or passwords).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERRORS, StoreUnavailableError, type ErrorCode } from '../../errors.js';
import type { RequestLogging } from '../request-logging.js';
import { ClientGoneError } from '../client-gone.js';

/**
 * The status of a reply to a client that has already closed its connection (nginx's "client
 * closed request"). Nothing is written, since the connection is gone, which is also why it is
 * not in the contract's table; it only keeps the reply from claiming a 200.
 */
const CLIENT_CLOSED_REQUEST = 499;

const TOKEN_ERRORS: ReadonlySet<ErrorCode> = new Set(['missing_token', 'invalid_token', 'token_expired', 'token_revoked']);

export function registerErrorHandling(app: FastifyInstance, log: RequestLogging['write']): void {
  app.setNotFoundHandler((_request, reply) => {
    send(reply, 'not_found');
  });

  app.setErrorHandler((error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof AppError) {
      if (error.detail !== undefined) log(request, 'info', { code: error.code, reason: error.detail }, 'request refused');
      reply.headers(error.headers);
      if (TOKEN_ERRORS.has(error.code)) reply.header('www-authenticate', bearerChallenge(error));
      return send(reply, error.code, error.message);
    }
    if (error instanceof ClientGoneError) {
      log(request, 'info', {}, 'client closed the connection; its password hash was not started');
      return reply.code(CLIENT_CLOSED_REQUEST).send();
    }
    if (error instanceof StoreUnavailableError) {
      log(request, 'warn', { store: error.store, cause: causeText(error.cause) }, 'store unavailable');
      reply.header('retry-after', '1');
      return send(reply, 'unavailable');
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) return send(reply, 'invalid_request', `${fastifyError.validationContext ?? 'request'}${fastifyError.validation[0]?.instancePath ?? ''} ${fastifyError.validation[0]?.message ?? 'is invalid'}`);
    const status = fastifyError.statusCode ?? 500;
    if (status === 413) return send(reply, 'payload_too_large');
    if (status === 415) return send(reply, 'unsupported_media_type');
    if (status === 404) return send(reply, 'not_found');
    // Malformed JSON, bad form encoding, empty body with a JSON content type and the like. The
    // parser's message is safe (it names the problem, not the body), but we keep ours fixed.
    if (status >= 400 && status < 500) return send(reply, 'invalid_request', status === 400 ? 'The request body could not be parsed.' : undefined);
    log(request, 'error', { err: error }, 'unhandled error');
    return send(reply, 'internal_error');
  });
}

function send(reply: FastifyReply, code: ErrorCode, message?: string): FastifyReply {
  return reply.code(ERRORS[code].status).send({ error: code, message: message ?? ERRORS[code].message });
}

/** RFC 6750 §3: the challenge names the error only when a token was presented. */
function bearerChallenge(error: AppError): string {
  if (error.code === 'missing_token') return 'Bearer realm="tollgate"';
  const description = error.message.replace(/["\\]/g, '');
  return `Bearer realm="tollgate", error="invalid_token", error_description="${description}"`;
}

function causeText(cause: unknown): string {
  return cause instanceof Error ? `${cause.name}: ${cause.message}`.slice(0, 300) : 'unknown';
}
