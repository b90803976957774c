import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT, jwtVerify, importJWK } from 'jose';
import { JwsError, signCompact, signCompactOffThread, verifyCompact, type JwsAlg, type JwsKey } from '../../src/core/jws.js';

function keyPair(alg: JwsAlg): { signing: JwsKey; verifying: JwsKey } {
  if (alg === 'HS256') {
    const key = createSecretKey(Buffer.alloc(32, 7));
    return { signing: { kid: 'k', alg, key }, verifying: { kid: 'k', alg, key } };
  }
  const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { signing: { kid: 'k', alg, key: pair.privateKey }, verifying: { kid: 'k', alg, key: pair.publicKey } };
}

describe('compact JWS', () => {
  for (const alg of ['ES256', 'EdDSA', 'RS256', 'HS256'] as const) {
    test(`${alg}: what we sign verifies, and jose agrees in both directions`, async () => {
      const { signing, verifying } = keyPair(alg);
      const token = signCompact({ typ: 'at+jwt' }, { sub: 'u1', n: 1 }, signing);
      const { header, payload } = verifyCompact(token, (kid) => (kid === 'k' ? verifying : undefined));
      assert.deepEqual(payload, { sub: 'u1', n: 1 });
      assert.equal(header.alg, alg);
      assert.equal((await jwtVerify(token, verifying.key, { algorithms: [alg] })).payload.sub, 'u1');
      const fromJose = await new SignJWT({ sub: 'u2' }).setProtectedHeader({ alg, kid: 'k' }).sign(signing.key);
      assert.equal(verifyCompact(fromJose, () => verifying).payload.sub, 'u2');
    });

    test(`${alg}: signing off the event loop gives the same token (the same signature where the algorithm is deterministic)`, async () => {
      const { signing, verifying } = keyPair(alg);
      const claims = { sub: 'u1', jti: 'j1' };
      const offThread = await signCompactOffThread({ typ: 'at+jwt' }, claims, signing);
      const inline = signCompact({ typ: 'at+jwt' }, claims, signing);
      const { header, payload } = verifyCompact(offThread, (kid) => (kid === 'k' ? verifying : undefined));
      assert.deepEqual(payload, claims);
      assert.deepEqual(header, { typ: 'at+jwt', alg, kid: 'k' });
      // ECDSA signatures are randomized; the others must be byte-for-byte identical.
      if (alg === 'ES256') assert.equal(offThread.slice(0, offThread.lastIndexOf('.')), inline.slice(0, inline.lastIndexOf('.')));
      else assert.equal(offThread, inline);
    });

    test(`${alg}: any changed byte of header, payload or signature is refused`, () => {
      const { signing, verifying } = keyPair(alg);
      const token = signCompact({}, { sub: 'u1' }, signing);
      for (let i = 0; i < token.length; i += 7) {
        if (token[i] === '.') continue;
        const flipped = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
        assert.throws(() => verifyCompact(flipped, () => verifying), JwsError, `position ${i}`);
      }
    });
  }

  test('the key decides the algorithm: a token claiming another alg is refused', async () => {
    const { verifying } = keyPair('ES256');
    const hmac = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256', kid: 'k' })
      .sign(await importJWK({ kty: 'oct', k: Buffer.alloc(32).toString('base64url') }, 'HS256'));
    assert.throws(() => verifyCompact(hmac, () => verifying), /alg does not match the key/);
  });

  test('an unknown kid is refused before any signature work', () => {
    const { signing } = keyPair('HS256');
    assert.throws(() => verifyCompact(signCompact({}, {}, signing), () => undefined), /unknown kid/);
  });
});
