/** Registration, login, refresh, logout, /auth/me, password change and account deletion. */
import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { whenReady } from '../../core/maybe-promise.js';
import type { ClientInfo, SessionPrincipal } from '../../core/sessions.js';
import type { Services } from '../../services.js';
import type { UserProfile } from '../../core/accounts.js';
import type { SessionRecord } from '../../store/types.js';
import type { RateLimits } from '../../core/rate-limits.js';
import { authenticator, bearerToken, principalOf } from '../plugins/authenticate.js';
import { NoContent, errors } from '../schemas/common.js';
import { AccountDeletion, Credentials, LogoutBody, Me, PasswordChange, RefreshBody, Registered, TokenPair } from '../schemas/auth.js';
import { JSON_TYPE, iso, tokenPairJson, userBody } from '../present.js';
import { clientGone } from '../client-gone.js';

export interface AuthRoutesOptions {
  readonly services: Services;
  readonly limits: RateLimits;
}

const MAX_USER_AGENT = 512;

/**
 * GET /auth/me's body, serialized once per session record and profile. Both are immutable
 * objects from in-process caches (a rotation or a re-read makes a new record), so the same pair
 * always gives the same body, and an entry goes with its record. Serializing it afresh (profile,
 * three dates, the response schema's serializer) was ~5.7k instructions, 7 % of a cached request
 * (callgrind).
 */
const meBodies = new WeakMap<SessionRecord, { readonly user: UserProfile; readonly body: string }>();

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, { services, limits }) => {
  const { accounts, sessions } = services;
  const authenticate = authenticator(sessions);

  // Login and registration also take HTML-form bodies (the seed tutorials post forms). The parser
  // is registered in this child scope only, so no other route accepts form encoding.
  await app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: services.config.bodyLimit });
    const forms = scope.withTypeProvider<TypeBoxTypeProvider>();

    forms.post('/auth/register', {
      schema: { tags: ['accounts'], summary: 'Create an account', body: Credentials, response: { 201: Registered, ...errors(400, 409, 413, 415, 429) } },
    }, async (request, reply) => {
      await limits.hitIp('register', request.ip);
      const user = await accounts.register(request.body.username, request.body.password, clientGone(reply));
      return reply.code(201).send({ user: userBody(user) });
    });

    forms.post('/auth/login', {
      schema: { tags: ['accounts'], summary: 'Log in: start a session and get a token pair', body: Credentials, response: { 200: TokenPair, ...errors(400, 401, 413, 415, 429) } },
    }, async (request, reply) => {
      const { username, password } = request.body;
      await limits.hitIp('login', request.ip);
      await limits.checkAccount(username);
      let user;
      try {
        user = await accounts.authenticate(username, password, clientGone(reply));
      } catch (error) {
        if (error instanceof AppError && error.code === 'invalid_credentials') await limits.recordAccountFailure(username);
        throw error;
      }
      return reply.type(JSON_TYPE).send(tokenPairJson(await sessions.start(user.id, clientInfo(request))) as never);
    });
  });

  app.post('/auth/refresh', {
    schema: { tags: ['sessions'], summary: 'Rotate the refresh token and get a new pair', body: RefreshBody, response: { 200: TokenPair, ...errors(400, 401, 413, 415, 429) } },
  }, async (request, reply) => {
    await limits.hitIp('refresh', request.ip);
    return reply.type(JSON_TYPE).send(tokenPairJson(await sessions.refresh(request.body.refresh_token)) as never);
  });

  app.post('/auth/logout', {
    schema: {
      tags: ['sessions'],
      summary: 'End this session (local), every other one (others) or all of them (global)',
      description: 'Authenticate with the access token, or with only `refresh_token` in the body once the access token has expired.',
      body: LogoutBody,
      response: { 204: NoContent, ...errors(400, 401, 413, 415) },
    },
  }, async (request, reply) => {
    const principal = await logoutPrincipal(request, request.body?.refresh_token);
    await sessions.logout(principal, request.body?.scope ?? 'local');
    return reply.code(204).send(null);
  });

  /** The access token when one is presented and valid; otherwise the refresh token in the body. */
  async function logoutPrincipal(request: FastifyRequest, refreshToken: string | undefined): Promise<SessionPrincipal> {
    const token = bearerToken(request);
    if (token !== undefined) {
      try {
        const claims = await sessions.authenticate(token);
        return { userId: claims.sub, sessionId: claims.sid };
      } catch (error) {
        if (refreshToken === undefined || !(error instanceof AppError)) throw error;
      }
    }
    if (refreshToken !== undefined) return sessions.identifyByRefreshToken(refreshToken);
    throw new AppError('missing_token');
  }

  app.get('/auth/me', {
    preHandler: authenticate,
    schema: { tags: ['accounts'], summary: 'The calling user and session', security: [{ bearer: [] }], response: { 200: Me, ...errors(401) } },
  }, (request, reply) => {
    const { sub, session } = principalOf(request);
    // Not an async handler: the profile is nearly always cached, and then no promise is made.
    return whenReady(accounts.profile(sub), (user) => {
      if (!user) throw new AppError('token_revoked');
      let memo = meBodies.get(session);
      if (memo?.user !== user) {
        // The route's own serializer (its response schema), which gives JSON text.
        const body = reply.serialize({
          user: userBody(user),
          session: { id: session.id, created_at: iso(session.createdAt), expires_at: iso(Math.min(session.expiresAt, session.absoluteExpiresAt)) },
        }) as string;
        memo = { user, body };
        meBodies.set(session, memo);
      }
      // A string with a JSON content type goes out as it is, past the serializer.
      void reply.type(JSON_TYPE).send(memo.body as never);
    });
  });

  app.post('/auth/password', {
    preHandler: authenticate,
    schema: {
      tags: ['accounts'], summary: 'Change the password; every other session ends', security: [{ bearer: [] }],
      body: PasswordChange, response: { 204: NoContent, ...errors(400, 401, 413, 415, 429) },
    },
  }, async (request, reply) => {
    const { sub, sid } = principalOf(request);
    await limits.hitIp('password', request.ip);
    await limits.checkAccount(sub);
    try {
      await accounts.changePassword(sub, sid, request.body.current_password, request.body.new_password, clientGone(reply));
    } catch (error) {
      if (error instanceof AppError && error.code === 'invalid_credentials') await limits.recordAccountFailure(sub);
      throw error;
    }
    return reply.code(204).send(null);
  });

  app.delete('/auth/account', {
    preHandler: authenticate,
    schema: {
      tags: ['accounts'], summary: 'Delete the account, its todos and all its sessions', security: [{ bearer: [] }],
      body: AccountDeletion, response: { 204: NoContent, ...errors(400, 401, 413, 415, 429) },
    },
  }, async (request, reply) => {
    await limits.hitIp('account', request.ip);
    await accounts.deleteAccount(principalOf(request).sub, request.body.password, clientGone(reply));
    return reply.code(204).send(null);
  });
};

function clientInfo(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return { userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT) : null, ip: request.ip ?? null };
}
