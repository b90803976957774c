/**
 * Wycheproof primitive vectors through verifySignature, the one function every algorithm of
 * verifyCompact ends in. Each group's public key (its SPKI DER) or HMAC key becomes a JwsKey pinned
 * to the algorithm the file is for. "valid" must verify and "invalid" must not. The only
 * "acceptable" case (RSA tcId 8, DigestInfo without the NULL parameter) may go either way: we
 * assert only that verifySignature returns a boolean (OpenSSL 3 under Node 20 returns false);
 * nothing may throw for any vector.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { verifySignature, type JwsAlg, type JwsKey } from '../../src/core/jws.js';
import { missingVectors, readVectors } from './load.js';

interface SigCase { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable' }
interface SigGroup { publicKeyDer: string; tests: SigCase[] }
interface MacCase { tcId: number; comment: string; flags: string[]; key: string; msg: string; tag: string; result: 'valid' | 'invalid' }
interface MacGroup { keySize: number | string; tagSize: number | string; tests: MacCase[] }

const DIR = 'wycheproof/testvectors_v1/';
const ECDSA = `${DIR}ecdsa_secp256r1_sha256_p1363_test.json`;
const ED25519 = `${DIR}ed25519_test.json`;
const RSA = `${DIR}rsa_signature_2048_sha256_test.json`;
const HMAC = `${DIR}hmac_sha256_test.json`;

const P256_N = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';
const ZERO = '0'.repeat(64);

/** r or s equal to 0 or n: the "psychic signature" shapes of CVE-2022-21449. */
function isPsychic(sigHex: string): boolean {
  if (sigHex.length !== 128) return false;
  return [sigHex.slice(0, 64), sigHex.slice(64)].some((half) => half === ZERO || half === P256_N);
}

function name(what: string, tc: { tcId: number; comment: string; flags: string[] }): string {
  return `Wycheproof ${what} tcId ${tc.tcId} (${[tc.comment || 'no comment', ...tc.flags].join('; ')})`;
}

function spki(group: SigGroup): KeyObject {
  return createPublicKey({ key: Buffer.from(group.publicKeyDer, 'hex'), format: 'der', type: 'spki' });
}

/** One test per case of a signature file, verified with the group's key pinned to `alg`. */
function signatureSuite(what: string, file: string, alg: JwsAlg, tag?: (tc: SigCase) => string): void {
  describe(`Wycheproof ${file.slice(DIR.length)} through verifySignature (${alg})`, { skip: missingVectors(file) ?? false }, () => {
    for (const group of readVectors<{ testGroups: SigGroup[] }>(file).testGroups) {
      const key: JwsKey = { kid: 'wycheproof', alg, key: spki(group) };
      for (const tc of group.tests) {
        const verdict = tc.result === 'valid' ? 'verifies' : tc.result === 'invalid' ? 'is rejected' : 'returns a boolean (acceptable: either outcome allowed)';
        test(`${name(what, tc)}${tag?.(tc) ?? ''} ${verdict}`, () => {
          const result = verifySignature(key, Buffer.from(tc.msg, 'hex'), Buffer.from(tc.sig, 'hex'));
          assert.equal(typeof result, 'boolean');
          if (tc.result !== 'acceptable') assert.equal(result, tc.result === 'valid');
        });
      }
    }
  });
}

signatureSuite('ECDSA P-256', ECDSA, 'ES256', (tc) => (isPsychic(tc.sig) ? ' [CVE-2022-21449 shape: r or s is 0 or n]' : ''));

describe('Wycheproof ECDSA P-256 psychic signatures (CVE-2022-21449) are present', { skip: missingVectors(ECDSA) ?? false }, () => {
  test('the file has r or s = 0 / n cases, r = s = 0 among them, all marked invalid', () => {
    const cases = readVectors<{ testGroups: SigGroup[] }>(ECDSA).testGroups.flatMap((g) => g.tests).filter((tc) => isPsychic(tc.sig));
    assert.ok(cases.length >= 10, `only ${cases.length} psychic cases found`);
    assert.ok(cases.some((tc) => tc.sig === ZERO + ZERO), 'r = s = 0 missing');
    assert.ok(cases.every((tc) => tc.result === 'invalid'));
  });
});

signatureSuite('Ed25519', ED25519, 'EdDSA');
signatureSuite('RSA PKCS#1 v1.5 2048 SHA-256', RSA, 'RS256');

// HS256 (RFC 7518 §3.2) always carries the full 32-byte HMAC-SHA-256. Truncated tags (the 128-bit
// groups) must be refused whatever their Wycheproof verdict; the key-size gate lives in config.
describe('Wycheproof hmac_sha256_test.json through verifySignature (HS256)', { skip: missingVectors(HMAC) ?? false }, () => {
  for (const group of readVectors<{ testGroups: MacGroup[] }>(HMAC).testGroups) {
    const keyBits = Number(group.keySize);
    const tagBits = Number(group.tagSize);
    describe(`${keyBits}-bit keys, ${tagBits}-bit tags`, () => {
      for (const tc of group.tests) {
        const key: JwsKey = { kid: 'wycheproof', alg: 'HS256', key: createSecretKey(Buffer.from(tc.key, 'hex')) };
        const msg = Buffer.from(tc.msg, 'hex');
        const tag = Buffer.from(tc.tag, 'hex');
        const label = name('HMAC-SHA256', tc);
        if (tagBits !== 256) {
          test(`${label} is refused: a ${tagBits}-bit tag is not a full HS256 tag (vector says ${tc.result})`, () => {
            if (tc.result === 'valid') {
              // It really is the truncated MAC, so the refusal is about length alone.
              assert.deepEqual(createHmac('sha256', key.key).update(msg).digest().subarray(0, tag.length), tag);
            }
            assert.equal(verifySignature(key, msg, tag), false);
          });
        } else if (keyBits < 256) {
          test(`${label} is not run`, { skip: `${keyBits}-bit key: src/config.ts refuses HS256 secrets under 32 bytes, so we never verify with one` }, () => {});
        } else {
          test(`${label} ${tc.result === 'valid' ? 'verifies' : 'is rejected'}`, () => {
            assert.equal(verifySignature(key, msg, tag), tc.result === 'valid');
          });
        }
      }
    });
  }
});
