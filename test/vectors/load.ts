/**
 * Shared helpers for the third-party vector suites. The vectors live outside the repository, in
 * the `shared/vectors` folder beside it (see its README.md); they are data only and never edited.
 */
import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JWS_ALGS, JwsError, verifyCompact, type JwsAlg, type JwsKey } from '../../src/core/jws.js';

const VECTORS = new URL('../../../shared/vectors/', import.meta.url);

/** Why a suite must skip (its vector folder or some of its files are missing), or undefined when all are there. */
export function missingVectors(...files: string[]): string | undefined {
  if (!existsSync(VECTORS)) {
    return `third-party vectors not found: no folder ${fileURLToPath(VECTORS)} (the folder \`shared/vectors\` beside the repository)`;
  }
  const missing = files.filter((file) => !existsSync(new URL(file, VECTORS)));
  if (missing.length === 0) return undefined;
  return `third-party vector files missing from ${fileURLToPath(VECTORS)}: ${missing.join(', ')}`;
}

export function readVectors<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, VECTORS), 'utf8')) as T;
}

/** A JWK as found in the vector files; loose on purpose, the files do not all agree. */
export interface VectorJwk extends JsonWebKey {
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
}

export function isJwsAlg(alg: unknown): alg is JwsAlg {
  return typeof alg === 'string' && (JWS_ALGS as readonly string[]).includes(alg);
}

/** The KeyObject that verifies with `jwk`: the secret for `oct`, otherwise only the public part. */
export function verificationKey(jwk: VectorJwk): KeyObject {
  if (jwk.kty === 'oct') return createSecretKey(Buffer.from(jwk.k ?? '', 'base64url'));
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = jwk;
  return createPublicKey({ key: publicPart, format: 'jwk' });
}

/**
 * How we would turn a foreign JWK into a verification key, if tollgate ever imported one: only
 * when the JWK names one of our algorithms in `alg` (the algorithm is then pinned from the key,
 * never taken from a token), is marked for signing (`use` absent or "sig") and, when it lists
 * `key_ops`, allows "verify". Anything else yields no key. tollgate itself never imports foreign
 * keys: src/core/keys.ts generates them and assigns the algorithm from configuration.
 */
export function importJwk(jwk: VectorJwk, kidOverride?: string): JwsKey | undefined {
  if (!isJwsAlg(jwk.alg)) return undefined;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.key_ops !== undefined && !jwk.key_ops.includes('verify')) return undefined;
  const kid = kidOverride ?? jwk.kid;
  if (kid === undefined) return undefined;
  return { kid, alg: jwk.alg, key: verificationKey(jwk) };
}

/** A findKey over a set of keys, by exact kid. */
export function ring(...keys: (JwsKey | undefined)[]): (kid: string) => JwsKey | undefined {
  const byKid = new Map<string, JwsKey>();
  for (const key of keys) if (key) byKid.set(key.kid, key);
  return (kid) => byKid.get(kid);
}

/** verifyCompact's refusal once the signature has verified, for a payload that is not a JSON object. */
export const PAYLOAD_NOT_OBJECT = 'payload is not a JSON object';
/** verifyCompact's refusal, also after the signature, of a payload segment that is not base64url (or empty). */
export const PAYLOAD_NOT_BASE64URL = 'payload is not base64url';

export type Outcome =
  | { readonly accepted: true; readonly payloadIsObject: boolean }
  | { readonly accepted: false; readonly reason: string };

/**
 * The JWS-level verdict of verifyCompact. tollgate verifies JWTs, so after the signature it also
 * refuses payloads that are not JSON objects; the vectors sign plain bytes ("foo", RFC 7520's
 * quote). verifyCompact checks the signature before it parses the payload, so a refusal for
 * exactly PAYLOAD_NOT_OBJECT means the JWS itself verified: that counts as accepted here, and an
 * invalid vector refused only for that reason counts as (wrongly) accepted. The same holds for an
 * empty payload segment (RFC 7515 allows it; zero bytes are no claims set), which verifyCompact
 * refuses as PAYLOAD_NOT_BASE64URL, also only after the signature. Any exception other than
 * JwsError is rethrown and fails the test.
 */
export function outcome(token: string, findKey: (kid: string) => JwsKey | undefined): Outcome {
  try {
    verifyCompact(token, findKey);
    return { accepted: true, payloadIsObject: true };
  } catch (error) {
    if (!(error instanceof JwsError)) throw error;
    if (error.reason === PAYLOAD_NOT_OBJECT) return { accepted: true, payloadIsObject: false };
    if (error.reason === PAYLOAD_NOT_BASE64URL && token.split('.')[1] === '') return { accepted: true, payloadIsObject: false };
    return { accepted: false, reason: error.reason };
  }
}

/** The decoded protected header of a compact JWS, or undefined when it does not decode to an object. */
export function headerOf(token: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
