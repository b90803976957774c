/**
 * Wycheproof JSON Web Signature and JSON Web Key vectors against verifyCompact. Each group's JWK
 * becomes a key only through importJwk (load.ts): its own `alg` must be one of ours, and it is
 * pinned from the key, never from the token. Groups whose JWK yields no key (RS384, PS256, ES521,
 * use "enc", ...) must have every case refused. "Accepted" is judged at the JWS level, see outcome().
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JWS_ALGS, type JwsKey } from '../../src/core/jws.js';
import { headerOf, importJwk, isJwsAlg, missingVectors, outcome, readVectors, ring, verificationKey, type VectorJwk } from './load.js';

interface Case { tcId: number; comment: string; jws: string; result: 'valid' | 'invalid' | 'acceptable'; flags: string[] }
interface JwsGroup { comment: string; public?: VectorJwk; private?: VectorJwk; tests: Case[] }
interface KeysetGroup { comment: string; public?: { keys: VectorJwk[] }; private?: { keys: VectorJwk[] }; tests: Case[] }

const JWS_FILE = 'wycheproof/testvectors_v1/json_web_signature_test.json';
const JWK_FILE = 'wycheproof/testvectors_v1/json_web_key_test.json';

function label(file: string, tc: Case): string {
  return `Wycheproof ${file} tcId ${tc.tcId} (${tc.comment || 'no comment'}${tc.flags.length ? `; ${tc.flags.join(', ')}` : ''})`;
}

/** Why a JWK gives no verification key, for test names. */
function noKeyReason(jwk: VectorJwk): string {
  if (jwk.alg === undefined) return `its JWK has no alg (use ${jwk.use ?? '-'}, key_ops ${jwk.key_ops?.join('+') ?? '-'}), so it is never a verification key`;
  if (!isJwsAlg(jwk.alg)) return `its JWK's alg ${jwk.alg} is not one we accept`;
  return `its JWK is not for verifying (use ${jwk.use ?? '-'}, key_ops ${jwk.key_ops?.join('+') ?? '-'})`;
}

/** One test per case: valid must be accepted, invalid refused; without a key, every case is refused. */
function runCase(name: string, tc: Case, findKey: (kid: string) => JwsKey | undefined, refusedBecause?: string): void {
  if (refusedBecause !== undefined || tc.result === 'invalid') {
    test(`${name} is refused${refusedBecause ? `: ${refusedBecause}` : ''}`, () => {
      const result = outcome(tc.jws, findKey);
      assert.equal(result.accepted, false, `accepted: ${JSON.stringify(result)}`);
    });
  } else {
    assert.equal(tc.result, 'valid', `${name}: no 'acceptable' verdicts are expected in this file`);
    test(`${name} is accepted`, () => {
      const result = outcome(tc.jws, findKey);
      assert.equal(result.accepted, true, `refused: ${JSON.stringify(result)}`);
    });
  }
}

/** The README's known quirks, each checked against the data before it is skipped. */
function quirk(group: JwsGroup, jwk: VectorJwk, tc: Case, byId: Map<number, Case>): string | undefined {
  if ((tc.tcId === 367 || tc.tcId === 370) && tc.result === 'invalid' && tc.jws === byId.get(357)?.jws) {
    return 'vector quirk (shared/vectors/README.md): byte-identical to the valid tcId 357 yet marked invalid';
  }
  if ((tc.tcId === 372 || tc.tcId === 373) && tc.result === 'valid' && tc.jws.includes('?')) {
    return 'vector quirk (shared/vectors/README.md): marked valid despite an inserted "?", which is not base64url';
  }
  const alg = headerOf(tc.jws)?.alg;
  if (group.comment.startsWith('rfc7520') && alg !== jwk.alg) {
    return `vector quirk (shared/vectors/README.md): in the rfc7520 groups the JWK's alg (${jwk.alg}) does not match the token's (${String(alg)})`;
  }
  return undefined;
}

const skipJws = missingVectors(JWS_FILE);

describe('Wycheproof json_web_signature_test.json through verifyCompact', { skip: skipJws ?? false }, () => {
  const groups = readVectors<{ testGroups: JwsGroup[] }>(JWS_FILE).testGroups;
  const byId = new Map(groups.flatMap((g) => g.tests).map((tc) => [tc.tcId, tc]));

  groups.forEach((group, index) => {
    const jwk = group.public ?? group.private ?? {};
    const key = importJwk(jwk);
    const title = key ? `pinned ${key.alg}, kid ${key.kid}` : `no key: ${noKeyReason(jwk)}`;
    describe(`group ${index} "${group.comment}" (${title})`, () => {
      for (const tc of group.tests) {
        const name = label('JWS', tc);
        const skip = quirk(group, jwk, tc, byId);
        if (skip !== undefined) {
          test(`${name}: Wycheproof's "${tc.result}" verdict is not applied`, { skip }, () => {});
          // Whatever its verdict, a token for an algorithm we lack a key for must still be refused.
          if (!key) runCase(name, tc, ring(), noKeyReason(jwk));
          continue;
        }
        runCase(name, tc, ring(key), key ? undefined : noKeyReason(jwk));
      }

      // Stronger than "no key": a token whose alg is not ours is refused whichever key its kid resolves to.
      const foreign = group.tests.filter((tc) => !isJwsAlg(headerOf(tc.jws)?.alg) && headerOf(tc.jws) !== undefined);
      if (foreign.length > 0 && jwk.kty !== undefined) {
        const ids = foreign.map((tc) => tc.tcId);
        test(`its ${ids.length} token(s) with an alg we do not accept (tcIds ${ids[0]}..${ids[ids.length - 1]}) are refused even when the kid resolves to this key pinned to any of our algorithms`, () => {
          const material = verificationKey(jwk);
          for (const tc of foreign) {
            for (const alg of JWS_ALGS) {
              const anyKid = (kid: string): JwsKey => ({ kid, alg, key: material });
              assert.equal(outcome(tc.jws, anyKid).accepted, false, `tcId ${tc.tcId} accepted with the key pinned to ${alg}`);
            }
          }
        });
      }
    });
  });
});

// json_web_key_test.json checks how a library loads JWK sets. tollgate never loads a foreign JWK
// or keyset: src/core/keys.ts generates its own keys (RS256 2048-bit, e = 65537; P-256; Ed25519)
// with kids that are RFC 7638 thumbprints, and the HS256 secret comes from configuration, which
// refuses secrets under 32 bytes. So keyset-policy vectors (mixed symmetry, duplicate kids, weak
// RSA keys, short or empty HMAC keys) are skipped, with that reason. The rest run through the same
// importJwk rule as above: they show that metadata we would rely on (alg, use) and node:crypto's
// refusal of malformed keys (point not on the curve, wrong curve, wrong kty) keep every such token out.
const OUT_OF_SCOPE: Record<string, string> = {
  jws_mixedSymmetryKeyset: 'keyset policy: tollgate loads no foreign keysets, and pins one alg per kid, so an HS256 and an ES256 key in one ring cannot be confused',
  jws_duplicate_kid: 'keyset policy: tollgate loads no foreign keysets; its kids are RFC 7638 thumbprints (or derived from the HS256 secret), so they cannot repeat',
  jws_rsa_roca_key: 'key-quality policy: tollgate imports no RSA keys, it generates its own (2048-bit, e = 65537)',
  keysize_too_small: 'key-quality policy: tollgate imports no RSA keys, it generates its own (2048-bit, e = 65537)',
  exponentOne: 'key-quality policy: tollgate imports no RSA keys, it generates its own (2048-bit, e = 65537)',
};
const SHORT_HS256 = 'key-size policy: src/config.ts refuses an HS256 secret under 32 bytes at start; verifySignature does not check key length';

const skipJwk = missingVectors(JWK_FILE);

describe('Wycheproof json_web_key_test.json: keys we would import', { skip: skipJwk ?? false }, () => {
  for (const group of readVectors<{ testGroups: KeysetGroup[] }>(JWK_FILE).testGroups) {
    const jwks = (group.public ?? group.private ?? { keys: [] }).keys;
    describe(`group "${group.comment}" (${jwks.map((k) => `${k.kty}/${k.alg ?? '-'}/${k.kid ?? '-'}`).join(', ')})`, () => {
      const keys: JwsKey[] = [];
      const importErrors: string[] = [];
      for (const jwk of jwks) {
        try {
          const key = importJwk(jwk);
          if (key) keys.push(key);
        } catch (error) {
          importErrors.push((error as Error).message);
        }
      }
      for (const tc of group.tests) {
        const name = label('JWK', tc);
        const outOfScope = OUT_OF_SCOPE[group.comment]
          ?? (jwks.some((k) => k.alg === 'HS256' && Buffer.from(k.k ?? '', 'base64url').length < 32) ? SHORT_HS256 : undefined);
        if (outOfScope !== undefined) {
          test(`${name} is not run`, { skip: outOfScope }, () => {});
        } else if (keys.length === 0) {
          const why = importErrors.length ? `node:crypto refuses the JWK (${importErrors.join('; ')})` : noKeyReason(jwks[0] ?? {});
          runCase(name, tc, ring(), why);
        } else {
          runCase(name, tc, ring(...keys));
        }
      }
    });
  }
});
