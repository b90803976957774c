/**
 * Compact JWS (RFC 7515) signing and verification on node:crypto, for exactly the four algorithms
 * tollgate issues. Written by hand rather than taken from a JWT library because this is the hot
 * path of every protected request and because we want one narrow, auditable place that refuses
 * everything we do not issue (see docs/security.md; proven by test/vectors and bench/jws.ts).
 *
 * Verification order matters: size and shape first, then the header, then the key chosen by `kid`
 * alone with its algorithm pinned, then the signature, and only then is the payload parsed.
 */
import { createHmac, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { parseJsonObject } from './strict-json.js';

export type JwsAlg = 'ES256' | 'EdDSA' | 'RS256' | 'HS256';
export const JWS_ALGS: readonly JwsAlg[] = ['ES256', 'EdDSA', 'RS256', 'HS256'];

/** A key with the one algorithm it may be used with. For HS256 `key` is a secret KeyObject. */
export interface JwsKey {
  readonly kid: string;
  readonly alg: JwsAlg;
  readonly key: KeyObject;
}

export interface VerifiedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** Why a token was refused; `reason` is for logs and error_description, never contains the token. */
export class JwsError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.name = 'JwsError';
    this.reason = reason;
  }
}

/** Tokens (and so headers) longer than this are refused before any decoding. */
export const MAX_TOKEN_LENGTH = 8192;

/**
 * Header parameters we refuse outright. `jwk`/`jku`/`x5u`/`x5c` would let a token name its own
 * verification key (never fetched, never trusted); `crit` and `b64` change how the token must be
 * processed and we implement no extensions (RFC 7515 §4.1.11: unknown crit must be rejected).
 */
const FORBIDDEN_HEADER_PARAMS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64', 'zip', 'enc'];

const BASE64URL = /^[A-Za-z0-9_-]*$/;

// P-256 group order n: an ES256 signature's r and s must lie in [1, n-1]. OpenSSL checks this too;
// we check it first so "psychic signatures" (CVE-2022-21449, r = s = 0) never reach any library.
const P256_ORDER = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
const ZERO32 = Buffer.alloc(32);

/** Signs on the calling thread. The header always gets the key's own `alg` and `kid`. */
export function signCompact(header: Record<string, unknown>, payload: Record<string, unknown>, key: JwsKey): string {
  const input = signingInput(header, payload, key);
  return `${input}.${rawSign(key, Buffer.from(input)).toString('base64url')}`;
}

/**
 * The same token as signCompact, but an asymmetric signature (ES256 ~25 µs on the Intel Xeon of
 * docs/benchmarks.md, 30-60 µs on the AMD VMs; EdDSA, RS256 far more) is computed on libuv's
 * thread pool, off the event loop: on two Intel cores this took one process from ~5.4k to ~8.5k
 * refreshes/s (real rotations, wrk -t1 -c64), because the main thread no longer waits for
 * OpenSSL. Handing a job to the pool costs the event loop less (~15-23 µs of futex wake-up and
 * completion on the VMs). HMAC costs less than the hop to the pool, so HS256 stays inline. Which
 * of the two AccessTokens uses depends on the cores left free: signsOnEventLoop in access-tokens.ts.
 */
export function signCompactOffThread(header: Record<string, unknown>, payload: Record<string, unknown>, key: JwsKey): Promise<string> {
  if (key.alg === 'HS256') return Promise.resolve(signCompact(header, payload, key));
  const input = signingInput(header, payload, key);
  const options = key.alg === 'ES256' ? { key: key.key, dsaEncoding: 'ieee-p1363' as const } : key.key;
  return new Promise((resolve, reject) => {
    cryptoSign(key.alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), options, (error, signature) => {
      if (error) reject(error);
      else resolve(`${input}.${signature.toString('base64url')}`);
    });
  });
}

function signingInput(header: Record<string, unknown>, payload: Record<string, unknown>, key: JwsKey): string {
  // The key's alg and kid win over the caller's header. Not a spread: `{ ...header, alg, kid }`
  // took V8's slow runtime path on every token issued (perf profile of POST /auth/refresh).
  const full = Object.assign({}, header);
  full.alg = key.alg;
  full.kid = key.kid;
  return `${b64json(full)}.${b64json(payload)}`;
}

/**
 * Verifies a compact JWS. `findKey` receives the header's `kid` (already checked to be a string)
 * and returns the key or undefined; the header's `alg` must equal that key's algorithm exactly.
 */
export function verifyCompact(token: string, findKey: (kid: string) => JwsKey | undefined): VerifiedJws {
  if (token.length > MAX_TOKEN_LENGTH) throw new JwsError('token too long');
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot1 < 0 || dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) throw new JwsError('not a compact JWS');
  const headerB64 = token.slice(0, dot1);
  const payloadB64 = token.slice(dot1 + 1, dot2);
  const signatureB64 = token.slice(dot2 + 1);

  const header = parseJsonObject(decodeCanonical(headerB64, 'header').toString('utf8'));
  if (!header) throw new JwsError('header is not a JSON object');
  for (const name of FORBIDDEN_HEADER_PARAMS) {
    if (name in header) throw new JwsError(`header parameter ${name} is not accepted`);
  }
  if (typeof header.alg !== 'string') throw new JwsError('alg missing');
  if (typeof header.kid !== 'string') throw new JwsError('kid missing');

  const key = findKey(header.kid);
  if (!key) throw new JwsError('unknown kid');
  // The key decides the algorithm, never the token: this is what stops alg=none and HS256-with-
  // the-public-key confusion. Exact, case-sensitive comparison.
  if (header.alg !== key.alg) throw new JwsError('alg does not match the key');

  const signature = decodeCanonical(signatureB64, 'signature');
  if (!verifySignature(key, Buffer.from(token.slice(0, dot2)), signature)) throw new JwsError('bad signature');

  const payload = parseJsonObject(decodeCanonical(payloadB64, 'payload').toString('utf8'));
  if (!payload) throw new JwsError('payload is not a JSON object');
  return { header, payload };
}

/** Node's base64url decoder skips junk and padding; we accept only the one canonical encoding. */
function decodeCanonical(part: string, what: string): Buffer {
  if (part.length === 0 || !BASE64URL.test(part) || part.length % 4 === 1) throw new JwsError(`${what} is not base64url`);
  const bytes = Buffer.from(part, 'base64url');
  // Unused low bits of the last character must be zero, or two strings would decode alike.
  if (bytes.toString('base64url') !== part) throw new JwsError(`${what} is not canonical base64url`);
  return bytes;
}

function b64json(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function rawSign(key: JwsKey, input: Buffer): Buffer {
  switch (key.alg) {
    case 'HS256':
      return createHmac('sha256', key.key).update(input).digest();
    case 'ES256':
      return cryptoSign('sha256', input, { key: key.key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return cryptoSign('sha256', input, key.key);
    case 'EdDSA':
      return cryptoSign(null, input, key.key);
  }
}

/** Checks one raw signature (JWS encoding: r‖s for ES256) over `input` with the key's pinned algorithm. */
export function verifySignature(key: JwsKey, input: Buffer, signature: Buffer): boolean {
  switch (key.alg) {
    case 'HS256': {
      if (signature.length !== 32) return false;
      // Constant-time comparison so the MAC cannot be learned byte by byte from response times.
      return timingSafeEqual(createHmac('sha256', key.key).update(input).digest(), signature);
    }
    case 'ES256':
      return signature.length === 64 && scalarInRange(signature.subarray(0, 32)) && scalarInRange(signature.subarray(32))
        && cryptoVerify('sha256', input, { key: key.key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'RS256':
      return cryptoVerify('sha256', input, key.key, signature);
    case 'EdDSA':
      return signature.length === 64 && cryptoVerify(null, input, key.key, signature);
  }
}

function scalarInRange(scalar: Buffer): boolean {
  return !scalar.equals(ZERO32) && Buffer.compare(scalar, P256_ORDER) < 0;
}
