/**
 * The access-token check every protected route runs: Bearer token → signature and claims →
 * session still live. The result is `request.principal`.
 */
import type { FastifyRequest, preHandlerHookHandler } from 'fastify';
import { AppError } from '../../errors.js';
import type { MaybePromise } from '../../core/maybe-promise.js';
import type { Principal, Sessions } from '../../core/sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The token from `Authorization: Bearer <token>`, or undefined when none was presented. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined || header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token === '' ? undefined : token;
}

/**
 * The preHandler of every protected route. A callback hook rather than an async one: when the
 * token and its session are cached (nearly every request) it finishes without creating a promise.
 */
export function authenticator(sessions: Sessions): preHandlerHookHandler {
  return (request, _reply, done) => {
    let principal: MaybePromise<Principal>;
    try {
      const token = bearerToken(request);
      if (token === undefined) throw new AppError('missing_token');
      principal = sessions.authenticate(token);
    } catch (error) {
      return done(error as Error);
    }
    if (!(principal instanceof Promise)) {
      request.principal = principal;
      return done();
    }
    principal.then((p) => {
      request.principal = p;
      done();
    }, done);
  };
}

/** The verified principal of a protected route (its preHandler has run). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('missing_token');
  return request.principal;
}
