/**
 * Access tokens: RFC 9068 JWTs (`typ: at+jwt`) signed by the key ring. Verification checks the
 * signature with the algorithm pinned to the key, then every claim; the session check (is it
 * revoked?) is the caller's next step.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Clock } from './clock.js';
import { JwsError, signCompact, signCompactOffThread, verifyCompact, type JwsKey, type VerifiedJws } from './jws.js';
import type { KeyRing } from './keys.js';
import type { MaybePromise } from './maybe-promise.js';

export interface AccessTokenOptions {
  readonly issuer: string;
  readonly audience: string;
  /** Seconds. */
  readonly accessTtl: number;
  readonly clockLeeway: number;
  /** Sign on the calling thread instead of libuv's pool (see signsOnEventLoop). */
  readonly signOnEventLoop: boolean;
}

/**
 * Where to compute an asymmetric signature: on libuv's thread pool while some core has no event
 * loop of ours to run, on the event loop once every core has one (workers >= cores).
 *
 * The pool only pays when its thread runs on a core that would otherwise idle. Handing it a job
 * costs the event loop about half of what it saves (a futex wake-up, then the completion's
 * callback: ES256 signing took ~30 µs on the AMD VM of docs/benchmarks.md, the hand-off ~15 µs of
 * it), and the machine a few µs more. With one process on two cores, pool and event loop measured
 * the same (interleaved A/B, refresh rotations: 1.00-1.10 on PostgreSQL + Redis, 1.03-1.04 on
 * SQLite, SQLite's p99 better on the pool). With two workers on two cores the pool threads only
 * take turns with the event loops, and signing inline made refreshes 1.09-1.27x (PostgreSQL +
 * Redis, three runs) and 1.33x (SQLite) as fast, with 5-21 % less CPU per refresh
 * (docs/benchmarks.md).
 */
export function signsOnEventLoop(workers: number, cores: number): boolean {
  return workers >= cores;
}

export interface AccessClaims {
  readonly sub: string;
  readonly sid: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly expiresIn: number;
}

/**
 * Verified tokens, so a signature is checked once per token rather than once per request (ES256
 * verification is the dominant cost of a protected request: bench/jws.ts). Only tokens that
 * passed every check are cached; the time claims (and the session) are still checked on every
 * request. Oldest entries go first when full.
 */
const VERIFIED_CACHE_SIZE = 20_000;

/** Characters at the end of the token (its signature) that make up the cache key. */
const KEY_CHARS = 12;

/**
 * The cache key: a 32-bit number folded from the last characters of the token, which are its
 * signature. A Map keyed by the token string itself hashes all ~700 characters of every
 * presented token (the per-request cost callgrind showed: ~5k instructions, 4 % of /auth/me).
 * The key only finds the candidate entry; a hit still needs the whole token to be equal (`===`),
 * so two tokens that share a key, forged or not, never stand in for each other: the one that is
 * not cached is verified in full.
 */
function cacheKey(token: string): number {
  let key = 0;
  for (let i = Math.max(0, token.length - KEY_CHARS); i < token.length; i++) key = (Math.imul(key, 31) + token.charCodeAt(i)) | 0;
  return key;
}

interface VerifiedToken extends AccessClaims {
  readonly token: string;
  readonly nbf: number | undefined;
  readonly kid: string;
}

/** RFC 9068 §2.1: "at+jwt"; media types compare case-insensitively (RFC 7515 §4.1.9). */
const ACCESS_TYP = /^(application\/)?at\+jwt$/i;

export class AccessTokens {
  readonly #keys: KeyRing;
  readonly #options: AccessTokenOptions;
  readonly #clock: Clock;
  readonly #findKey: (kid: string) => JwsKey | undefined;
  readonly #verified = new Map<number, VerifiedToken>();

  constructor(keys: KeyRing, options: AccessTokenOptions, clock: Clock) {
    this.#keys = keys;
    this.#findKey = (kid) => keys.find(kid);
    this.#options = options;
    this.#clock = clock;
  }

  async issue(subject: { userId: string; sessionId: string }): Promise<IssuedAccessToken> {
    const key = await this.#keys.currentSigningKey();
    const iat = Math.floor(this.#clock.now() / 1000);
    const payload = {
      iss: this.#options.issuer,
      sub: subject.userId,
      aud: this.#options.audience,
      exp: iat + this.#options.accessTtl,
      iat,
      jti: randomUUID(),
      sid: subject.sessionId,
    };
    const header = { typ: 'at+jwt' };
    const token = this.#options.signOnEventLoop ? signCompact(header, payload, key) : await signCompactOffThread(header, payload, key);
    return { token, expiresIn: this.#options.accessTtl };
  }

  /**
   * Throws AppError `invalid_token` or `token_expired`. Synchronous unless the token names a key
   * this process has not loaded yet: that may be a key another instance just rotated in, so the
   * ring is reloaded (throttled) and the token checked once more.
   */
  verify(token: string): MaybePromise<AccessClaims> {
    const cached = this.#verified.get(cacheKey(token));
    // A cached token is only as good as its key: once the key is dropped, verify afresh (and fail).
    if (cached !== undefined && cached.token === token && this.#findKey(cached.kid)) {
      this.#checkTimes(cached);
      return cached;
    }
    try {
      return this.#accept(token, verifyCompact(token, this.#findKey));
    } catch (error) {
      if (!(error instanceof JwsError)) throw error;
      if (error.reason !== 'unknown kid') throw refused(error.reason);
      return this.#keys.reloadIfStale().then((reloaded) => {
        if (!reloaded) throw refused(error.reason);
        return this.#accept(token, verifyOrRefuse(token, this.#findKey));
      });
    }
  }

  /** The claims of a token whose signature checked out, once its type and claims pass too. */
  #accept(token: string, verified: VerifiedJws): AccessClaims {
    if (typeof verified.header.typ !== 'string' || !ACCESS_TYP.test(verified.header.typ)) {
      throw refused('not an access token (typ)');
    }
    const claims = this.#checkClaims(verified.payload);
    const key = cacheKey(token);
    // Deleted first so a re-verified token moves to the back of the eviction order.
    this.#verified.delete(key);
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value!);
    // Field by field, not `{ ...claims, token, kid }`: on Node 20 (V8 11.3) a spread copy soon gets
    // a hidden class of its own, so every cached token had its own, and every site that reads one
    // went megamorphic (docs/benchmarks.md, "One hidden class per cached token").
    const entry: VerifiedToken = {
      sub: claims.sub, sid: claims.sid, jti: claims.jti, iat: claims.iat, exp: claims.exp, nbf: claims.nbf,
      token, kid: verified.header.kid as string,
    };
    this.#verified.set(key, entry);
    return claims;
  }

  #checkClaims(claims: Readonly<Record<string, unknown>>): AccessClaims & { readonly nbf: number | undefined } {
    const { iss, aud, sub, sid, jti, iat, exp, nbf } = claims;
    if (iss !== this.#options.issuer) throw refused('wrong issuer');
    if (!(aud === this.#options.audience || (Array.isArray(aud) && aud.includes(this.#options.audience)))) {
      throw refused('wrong audience');
    }
    if (!isNonEmptyString(sub) || !isNonEmptyString(sid) || !isNonEmptyString(jti)) {
      throw refused('sub, sid and jti must be non-empty strings');
    }
    if (!isNumericDate(exp) || !isNumericDate(iat) || (nbf !== undefined && !isNumericDate(nbf))) {
      throw refused('exp, iat and nbf must be numeric dates');
    }
    const checked = { sub, sid, jti, iat, exp, nbf: nbf as number | undefined };
    this.#checkTimes(checked);
    return checked;
  }

  #checkTimes(claims: { readonly iat: number; readonly exp: number; readonly nbf: number | undefined }): void {
    const now = this.#clock.now() / 1000;
    const leeway = this.#options.clockLeeway;
    if (claims.iat > now + leeway) throw refused('issued in the future');
    if (claims.nbf !== undefined && claims.nbf > now + leeway) throw refused('not yet valid');
    if (claims.exp <= now - leeway) throw new AppError('token_expired');
  }
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256;
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function verifyOrRefuse(token: string, findKey: (kid: string) => JwsKey | undefined): VerifiedJws {
  try {
    return verifyCompact(token, findKey);
  } catch (error) {
    throw error instanceof JwsError ? refused(error.reason) : error;
  }
}

/** Every invalid_token answer has the same body; which check failed goes to the log only. */
function refused(reason: string): AppError {
  return new AppError('invalid_token', undefined, { detail: reason });
}
