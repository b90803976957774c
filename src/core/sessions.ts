/**
 * Sessions: one per login (device). A session is what an access token's `sid` points at, so ending
 * it (logout, revocation, password change, account deletion, reuse of a rotated refresh token)
 * makes its access tokens answer `token_revoked` on the very next request.
 */
import { AppError } from '../errors.js';
import { equalSecrets } from './constant-time.js';
import type { AccessClaims, AccessTokens } from './access-tokens.js';
import type { Clock } from './clock.js';
import { whenReady, type MaybePromise } from './maybe-promise.js';
import {
  MAX_CHAIN_DEPTH, formatRefreshToken, hashSecret, newRefreshSecret, newSessionId, parseRefreshToken, type RefreshChain,
} from './refresh-tokens.js';
import type { RotateOutcome, SessionRecord, SessionStore } from '../store/types.js';

export interface TokenPair {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  /** Seconds. */
  readonly expiresIn: number;
  readonly refreshToken: string;
  /** Seconds until the session's idle or absolute expiry, whichever is first. */
  readonly refreshExpiresIn: number;
  readonly sessionId: string;
}

export interface ClientInfo {
  readonly userAgent: string | null;
  readonly ip: string | null;
}

export interface SessionOptions {
  /** Seconds of idle lifetime, renewed on each refresh. */
  readonly refreshTtl: number;
  /** Seconds from login after which the session ends whatever happens. */
  readonly sessionMaxAge: number;
  /** Seconds a rotated refresh token still answers with the current pair. */
  readonly refreshGrace: number;
}

export type LogoutScope = 'local' | 'others' | 'global';

/** The caller of a protected route: the access token's claims and its live session. */
export interface Principal extends AccessClaims {
  readonly session: SessionRecord;
}

/** Who is calling: from a verified access token or a verified refresh token. */
export interface SessionPrincipal {
  readonly userId: string;
  readonly sessionId: string;
}

// A concurrent rotation can move the session on between our two calls; retrying a couple of times
// settles it, and anything beyond is refused rather than looped on.
const MAX_ROTATE_ATTEMPTS = 3;

export class Sessions {
  readonly #store: SessionStore;
  readonly #tokens: AccessTokens;
  readonly #chain: RefreshChain;
  readonly #options: SessionOptions;
  readonly #clock: Clock;

  constructor(deps: { store: SessionStore; tokens: AccessTokens; chain: RefreshChain; clock: Clock }, options: SessionOptions) {
    this.#store = deps.store;
    this.#tokens = deps.tokens;
    this.#chain = deps.chain;
    this.#clock = deps.clock;
    this.#options = options;
  }

  async start(userId: string, client: ClientInfo): Promise<TokenPair> {
    const now = this.#clock.now();
    const secret = newRefreshSecret();
    const absoluteExpiresAt = now + this.#options.sessionMaxAge * 1000;
    const session: SessionRecord = {
      id: newSessionId(),
      userId,
      generation: 0,
      refreshHash: hashSecret(secret),
      rotatedAt: [],
      createdAt: now,
      lastUsedAt: now,
      expiresAt: Math.min(now + this.#options.refreshTtl * 1000, absoluteExpiresAt),
      absoluteExpiresAt,
      userAgent: client.userAgent,
      ip: client.ip,
    };
    await this.#store.createSession(session);
    return this.#pair(session, secret);
  }

  /** Rotates the refresh token; throws `invalid_grant` for anything but a live, genuine token. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const parts = parseRefreshToken(refreshToken);
    if (!parts) throw new AppError('invalid_grant');
    let depth = 1;
    for (let attempt = 0; attempt < MAX_ROTATE_ATTEMPTS; attempt++) {
      // Computed once: the hashes go to the store, and the secrets themselves become the answer.
      const secrets = this.#chain.successors(parts.secret, depth);
      const result: RotateOutcome = await this.#store.rotateSession({
        sessionId: parts.sessionId,
        generation: parts.generation,
        hashes: secrets.map(hashSecret),
        now: this.#clock.now(),
        graceMs: this.#options.refreshGrace * 1000,
        idleTtlMs: this.#options.refreshTtl * 1000,
      });
      switch (result.outcome) {
        case 'rotated':
          return this.#pair(result.session, secrets[1]!);
        case 'grace':
          // A racing or retrying client: hand back the current token of the same session, no new branch.
          return this.#pair(result.session, secrets[result.session.generation - parts.generation]!);
        case 'reused':
          throw new AppError('invalid_grant', 'The refresh token was already used; the session has been ended.');
        case 'invalid':
          throw new AppError('invalid_grant');
        case 'deeper':
          if (result.depth > MAX_CHAIN_DEPTH) throw new AppError('invalid_grant');
          depth = result.depth;
      }
    }
    throw new AppError('invalid_grant');
  }

  /** Verifies an access token and that its session is still live: the check behind every protected request. */
  authenticate(accessToken: string): MaybePromise<Principal> {
    // Synchronous when the token and its session are in this process's caches (the usual case).
    return whenReady(this.#tokens.verify(accessToken), (claims) =>
      whenReady(this.#store.getSession(claims.sid, this.#clock.now()), (session) => {
        // The user check guards against a forged-but-signed sid of someone else's session.
        if (!session || session.userId !== claims.sub) throw new AppError('token_revoked');
        // Field by field, not a spread: the same shape whether the claims came from the cache or not.
        return { sub: claims.sub, sid: claims.sid, jti: claims.jti, iat: claims.iat, exp: claims.exp, session };
      }));
  }

  /**
   * The session a refresh token belongs to, without rotating it (logout with only a refresh token).
   * Accepts the current token and genuine rotated ones: either way its holder may end the session.
   */
  async identifyByRefreshToken(refreshToken: string): Promise<SessionPrincipal> {
    const parts = parseRefreshToken(refreshToken);
    // Fresh: a cached copy may predate a rotation made by another process, and the current
    // token would then look newer than its session and be refused.
    const session = parts && (await this.#store.getSession(parts.sessionId, this.#clock.now(), { fresh: true }));
    if (!parts || !session) throw new AppError('invalid_grant');
    const depth = session.generation - parts.generation;
    if (depth < 0 || depth > MAX_CHAIN_DEPTH || !equalSecrets(this.#chain.hashes(parts.secret, depth)[depth]!, session.refreshHash)) {
      throw new AppError('invalid_grant');
    }
    return { userId: session.userId, sessionId: session.id };
  }

  async list(userId: string): Promise<SessionRecord[]> {
    return this.#store.listSessions(userId, this.#clock.now());
  }

  /** Ends one of the user's sessions; false when it is not theirs or already gone. */
  async revoke(userId: string, sessionId: string): Promise<boolean> {
    return this.#store.deleteSession(userId, sessionId);
  }

  async logout(principal: SessionPrincipal, scope: LogoutScope): Promise<void> {
    if (scope === 'local') await this.#store.deleteSession(principal.userId, principal.sessionId);
    else if (scope === 'others') await this.#store.deleteUserSessions(principal.userId, { except: principal.sessionId });
    else await this.#store.deleteUserSessions(principal.userId);
  }

  async #pair(session: SessionRecord, secret: Buffer): Promise<TokenPair> {
    const access = await this.#tokens.issue({ userId: session.userId, sessionId: session.id });
    return {
      accessToken: access.token,
      tokenType: 'Bearer',
      expiresIn: access.expiresIn,
      refreshToken: formatRefreshToken({ sessionId: session.id, generation: session.generation, secret }),
      refreshExpiresIn: Math.max(0, Math.floor((session.expiresAt - this.#clock.now()) / 1000)),
      sessionId: session.id,
    };
  }
}
