/**
 * The access-token check every protected route runs: Bearer token → signature and claims →
 * session still live. The result is `request.principal`.
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
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

export function authenticator(sessions: Sessions): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const token = bearerToken(request);
    if (token === undefined) throw new AppError('missing_token');
    request.principal = await sessions.authenticate(token);
  };
}

/** The verified principal of a protected route (its preHandler has run). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('missing_token');
  return request.principal;
}
