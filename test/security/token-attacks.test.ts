/**
 * Forged, tampered and confused access tokens, presented the way an attacker would: as a Bearer
 * token to GET /auth/me on the real app. Every one must be refused with 401 (`invalid_token`, or
 * `token_expired` for a genuine-but-old token) and must change nothing: the victim's genuine
 * token keeps working after each attempt.
 *
 * Tokens that need a valid signature over altered claims or headers are signed with the server's
 * own key (services.keys.signingKey()): that simulates "a key holder made a bad token" and proves
 * the claim or header check refuses it on its own, not the signature. Tokens from an attacker's
 * key are made with node:crypto or, for genuine foreign JOSE objects, with `jose`.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, sign as cryptoSign, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { CompactEncrypt, SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, importJWK } from 'jose';
import { signCompact, type JwsKey } from '../../src/core/jws.js';
import { authed, buildTestApp, errorCode, me, refresh, signUp, type Pair, type TestApp } from '../helper.js';

// ---------------------------------------------------------------------------------------------
// Token construction helpers

type Json = Record<string, unknown>;

const b64 = (data: string | Buffer): string => Buffer.from(data).toString('base64url');
const b64json = (value: unknown): string => b64(JSON.stringify(value));
const unb64 = (part: string): Buffer => Buffer.from(part, 'base64url');

function partsOf(token: string): [string, string, string] {
  const [h = '', p = '', s = ''] = token.split('.');
  return [h, p, s];
}

function decodePart(part: string): Json {
  return JSON.parse(unb64(part).toString('utf8')) as Json;
}

/** ES256 signature (JWS encoding r‖s) with a private KeyObject. */
function es256(input: string, key: KeyObject): Buffer {
  return cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
}

function hs256(input: string, secret: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(input).digest();
}

/**
 * A compact JWS from a header and payload given as objects or as raw JSON text (for duplicate
 * keys and other things JSON.stringify cannot write), signed by `signer` over the exact input.
 */
function forge(header: Json | string, payload: Json | string, signer: (input: string) => Buffer | string): string {
  const h = typeof header === 'string' ? b64(header) : b64json(header);
  const p = typeof payload === 'string' ? b64(payload) : b64json(payload);
  const input = `${h}.${p}`;
  const sig = signer(input);
  return `${input}.${typeof sig === 'string' ? sig : sig.toString('base64url')}`;
}

// ---------------------------------------------------------------------------------------------
// The victim: a server, a user with a live session, and what an attacker can see of the server.

interface Victim extends TestApp {
  readonly pair: Pair;
  /** The genuine token's header and claims. */
  readonly header: Json;
  readonly claims: Json;
  /** The server's signing key (private): only for "a key holder made a bad token" cases. */
  readonly ours: JwsKey;
  /** What GET /.well-known/jwks.json publishes for that key. */
  readonly jwk: JsonWebKey & { kid: string; alg: string };
  /** A fresh P-256 key pair of the attacker's. */
  readonly attacker: { privateKey: KeyObject; publicKey: KeyObject };
}

async function victim(t: TestContext | ShimContext, env: Record<string, string> = {}): Promise<Victim> {
  const testApp = await buildTestApp(t as TestContext, env);
  const pair = await signUp(testApp.app, 'victim');
  const [h, p] = partsOf(pair.access_token);
  const header = decodePart(h);
  const jwks = (await testApp.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: Victim['jwk'][] };
  // HS256 publishes nothing (the key is secret); an attacker still sees the kid in any token.
  const jwk = jwks.keys.find((k) => k.kid === header.kid) ?? { kid: String(header.kid), alg: String(header.alg) };
  return {
    ...testApp,
    pair,
    header,
    claims: decodePart(p),
    ours: testApp.services.keys.signingKey(),
    jwk,
    attacker: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  };
}

/** Claims that would be accepted, as of the server's clock, for the victim's session. */
function goodClaims(v: Victim, changes: Json = {}): Json {
  const now = Math.floor(v.clock.now() / 1000);
  return { ...v.claims, iat: now, exp: now + 900, ...changes };
}

/** Signed with the server's own key and kid (signCompact always writes the key's alg and kid). */
function ourToken(v: Victim, claims: Json, header: Json = { typ: 'at+jwt' }): string {
  return signCompact(header, claims, v.ours);
}

/** Like ourToken, but with the header exactly as given (any kid/alg, or none), signed ES256 by our key. */
function ourSignature(v: Victim, header: Json | string, payload: Json | string): string {
  return forge(header, payload, (input) => es256(input, v.ours.key));
}

/**
 * node:test suite hooks get no TestContext; buildTestApp only needs `after` to register cleanup.
 * This shim collects the cleanups and runs them in the suite's own after().
 */
interface ShimContext {
  after(fn: () => Promise<void> | void): void;
}

function sharedVictim(env: Record<string, string> = {}): () => Victim {
  const cleanups: (() => Promise<void> | void)[] = [];
  let state: Victim | undefined;
  before(async () => {
    const shim: ShimContext = { after: (fn) => void cleanups.push(fn) };
    state = await victim(shim, env);
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  return () => {
    if (!state) throw new Error('fixture not ready');
    return state;
  };
}

async function present(v: Victim, token: string): Promise<LightMyRequestResponse> {
  return v.app.inject({ method: 'GET', url: '/auth/me', headers: authed(token) });
}

/** The attack is refused with `code`, and the victim's genuine token still works. */
async function assertRefused(v: Victim, tokens: string[], code: 'invalid_token' | 'token_expired' = 'invalid_token'): Promise<LightMyRequestResponse[]> {
  const responses: LightMyRequestResponse[] = [];
  for (const token of tokens) {
    const res = await present(v, token);
    const label = `${token.slice(0, 120)}${token.length > 120 ? '…' : ''} → ${res.statusCode} ${res.body}`;
    assert.equal(res.statusCode, 401, label);
    assert.equal(errorCode(res), code, label);
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="tollgate", error="invalid_token"/, label);
    responses.push(res);
  }
  const genuine = await me(v.app, v.pair.access_token);
  assert.equal(genuine.statusCode, 200, `the genuine token stopped working: ${genuine.body}`);
  return responses;
}

// ---------------------------------------------------------------------------------------------
// The attacks. Each builds one or more tokens from the victim's view of the server.

interface Attack {
  readonly name: string;
  readonly tokens: (v: Victim) => string[] | Promise<string[]>;
  readonly code?: 'invalid_token' | 'token_expired';
}

const P256_N = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
const ZERO32 = Buffer.alloc(32);

/** Re-signs with our key until the signature contains `-` or `_` (ES256 signatures are randomised). */
function tokenWithUrlSafeChars(v: Victim): string {
  for (let i = 0; i < 200; i++) {
    const token = ourToken(v, goodClaims(v));
    if (/[-_]/.test(partsOf(token)[2])) return token;
  }
  throw new Error('no signature with - or _ in 200 tries');
}

/** The same bytes in a different base64url spelling: unused low bits of the last character set. */
function withTrailingBits(part: string): string | undefined {
  const unusedBits = (part.length * 6) % 8;
  if (unusedBits === 0) return undefined;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(part[part.length - 1]!);
  return part.slice(0, -1) + alphabet[last | ((1 << unusedBits) - 1)]!;
}

function hmacSecretsFromJwk(jwk: Victim['jwk']): [string, Buffer | string][] {
  const publicKey = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } as JsonWebKey, format: 'jwk' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const x = unb64(jwk.x!);
  const y = unb64(jwk.y!);
  return [
    ['the JWK as served (JSON)', JSON.stringify(jwk)],
    ['the RFC 7638 thumbprint members (JSON)', JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })],
    ['the SPKI PEM', pem],
    ['the SPKI PEM without its final newline', pem.trimEnd()],
    ['the SPKI DER bytes', der],
    ['the uncompressed point 04‖x‖y', Buffer.concat([Buffer.from([4]), x, y])],
    ['x‖y', Buffer.concat([x, y])],
    ['the base64url x coordinate', jwk.x!],
    ['the kid', jwk.kid],
    ['an empty secret', ''],
  ];
}

const ATTACKS: Attack[] = [
  // --- "alg": "none" in every spelling ---
  ...['none', 'None', 'NONE', 'nOnE'].map((alg): Attack => ({
    name: `alg "${alg}" (unsecured JWT), with and without our kid, with an empty or the genuine signature`,
    tokens: (v) => {
      const genuineSig = partsOf(v.pair.access_token)[2];
      const withKid = forge({ alg, typ: 'at+jwt', kid: v.jwk.kid }, goodClaims(v), () => '');
      const noKid = forge({ alg, typ: 'at+jwt' }, goodClaims(v), () => '');
      return [withKid, noKid, `${withKid}${genuineSig}`, withKid.slice(0, -1)];
    },
  })),
  {
    name: 'alg "none" made by jose (UnsecuredJWT) with our claims',
    tokens: (v) => [new UnsecuredJWT(goodClaims(v)).encode()],
  },

  // --- stripped or shortened signatures ---
  {
    name: 'the signature part is missing (two parts)',
    tokens: (v) => {
      const [h, p] = partsOf(v.pair.access_token);
      return [`${h}.${p}`];
    },
  },
  {
    name: 'the signature part is empty',
    tokens: (v) => {
      const [h, p] = partsOf(v.pair.access_token);
      return [`${h}.${p}.`];
    },
  },
  {
    name: 'the signature is cut short by one byte and by half',
    tokens: (v) => {
      const [h, p, s] = partsOf(v.pair.access_token);
      const sig = unb64(s);
      return [`${h}.${p}.${b64(sig.subarray(0, sig.length - 1))}`, `${h}.${p}.${b64(sig.subarray(0, sig.length / 2))}`, `${h}.${p}.${s.slice(0, -1)}`];
    },
  },
  {
    name: 'the signature is extended by a zero byte',
    tokens: (v) => {
      const [h, p, s] = partsOf(v.pair.access_token);
      return [`${h}.${p}.${b64(Buffer.concat([unb64(s), Buffer.alloc(1)]))}`];
    },
  },
  {
    name: 'the genuine signature over claims changed to another user (sub swapped)',
    tokens: (v) => {
      const [h, , s] = partsOf(v.pair.access_token);
      return [`${h}.${b64json({ ...v.claims, sub: 'someone-else' })}.${s}`];
    },
  },

  // --- algorithm confusion: HS256 keyed with our public key ---
  {
    name: 'HS256 signed with our ES256 public key (algorithm confusion), in every encoding of the key',
    tokens: (v) => hmacSecretsFromJwk(v.jwk).flatMap(([, secret]) => [
      forge({ alg: 'HS256', typ: 'at+jwt', kid: v.jwk.kid }, goodClaims(v), (input) => hs256(input, secret)),
      forge({ alg: 'HS256', typ: 'at+jwt' }, goodClaims(v), (input) => hs256(input, secret)),
    ]),
  },
  {
    name: 'our kid with alg spelled differently (es256, ES384, RS256, EdDSA) over our genuine ES256 signature',
    tokens: (v) => ['es256', 'ES384', 'RS256', 'EdDSA', 'ES256 ', 'PS256'].map((alg) => ourSignature(v, { alg, typ: 'at+jwt', kid: v.jwk.kid }, goodClaims(v))),
  },

  // --- a key that is not ours ---
  {
    name: 'a valid-looking ES256 token signed by a different key with our kid (made by jose)',
    tokens: async (v) => {
      const { privateKey } = await generateKeyPair('ES256');
      return [await new SignJWT(goodClaims(v)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid }).sign(privateKey)];
    },
  },
  {
    name: 'an embedded attacker key in a jwk header, with our kid, its own kid, and no kid',
    tokens: async (v) => {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const jwk = await exportJWK(publicKey);
      return Promise.all([v.jwk.kid, 'attacker', undefined].map((kid) => {
        const header = { alg: 'ES256', typ: 'at+jwt', jwk, ...(kid === undefined ? {} : { kid }) };
        return new SignJWT(goodClaims(v)).setProtectedHeader(header).sign(privateKey);
      }));
    },
  },
  ...([
    ['jku', 'https://attacker.example/.well-known/jwks.json'],
    ['x5u', 'https://attacker.example/cert.pem'],
    ['x5c', ['MIIBszCCAVmgAwIBAgIUattackerattackerattackerattackerwCgYIKoZIzj0EAwIw']],
    ['x5t', 'dGh1bWJwcmludA'],
    ['x5t#S256', 'dGh1bWJwcmludC1zaGEyNTY'],
  ] as const).map(([param, value]): Attack => ({
    name: `a ${param} header pointing at the attacker's key, signed by the attacker and (isolating the header) by us`,
    tokens: (v) => [
      forge({ alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid, [param]: value }, goodClaims(v), (input) => es256(input, v.attacker.privateKey)),
      ourSignature(v, { alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid, [param]: value }, goodClaims(v)),
    ],
  })),

  // --- kid injection and odd kids (signed by our key so only the kid decides) ---
  ...([
    ['../../dev/null', '../../dev/null'],
    ["' OR 1=1 --", "' OR 1=1 --"],
    ['|sleep 10', '|sleep 10'],
    ['an unknown id', 'x3QmOO3LkvVbA4-mMmbxHuhDb0g0NzLU5Y8u7qQoA7A'],
    ['the empty string', ''],
    ['a number', 42],
    ['null', null],
    ['an array holding our kid', ['KID']],
    ['an object', { kid: 'KID' }],
  ] as const).map(([label, kid]): Attack => ({
    name: `kid ${label}`,
    tokens: (v) => {
      const value = Array.isArray(kid) ? [v.jwk.kid] : kid;
      return [
        ourSignature(v, { alg: 'ES256', typ: 'at+jwt', kid: value }, goodClaims(v)),
        forge({ alg: 'HS256', typ: 'at+jwt', kid: value }, goodClaims(v), (input) => hs256(input, '')),
      ];
    },
  })),
  {
    name: 'kid absent (signed by our key, and HS256 with an empty secret)',
    tokens: (v) => [
      ourSignature(v, { alg: 'ES256', typ: 'at+jwt' }, goodClaims(v)),
      forge({ alg: 'HS256', typ: 'at+jwt' }, goodClaims(v), (input) => hs256(input, '')),
    ],
  },

  // --- processing-changing headers ---
  {
    name: 'crit with anything in it (exp, b64, an unknown name, empty list, a string), signed by our key',
    tokens: (v) => [['exp'], ['b64'], ['urn:attacker:ext'], [], 'exp'].map((crit) => ourSignature(v, { alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid, crit }, goodClaims(v))),
  },
  {
    name: 'b64:false (RFC 7797), with and without crit, signed by our key over the encoded and the raw payload',
    tokens: (v) => {
      const claims = JSON.stringify(goodClaims(v));
      return [
        { alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid, b64: false, crit: ['b64'] },
        { alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid, b64: false },
      ].flatMap((header) => {
        const h = b64json(header);
        return [ourSignature(v, header, claims), `${h}.${claims}.${b64(es256(`${h}.${claims}`, v.ours.key))}`];
      });
    },
  },
  {
    name: 'zip and enc headers that would change how the payload is read',
    tokens: (v) => [{ zip: 'DEF' }, { enc: 'A256GCM' }].map((extra) => ourSignature(v, { alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid, ...extra }, goodClaims(v))),
  },

  // --- CVE-2022-21449: ECDSA signatures with r or s = 0 or = n ---
  {
    name: 'ES256 "psychic signatures": r or s = 0 or = n (CVE-2022-21449), with our kid',
    tokens: (v) => {
      const [h, p, s] = partsOf(v.pair.access_token);
      const sig = unb64(s);
      const r = sig.subarray(0, 32);
      const sv = sig.subarray(32);
      return [
        [ZERO32, ZERO32], [P256_N, P256_N], [ZERO32, sv], [r, ZERO32], [P256_N, sv], [r, P256_N], [ZERO32, P256_N], [P256_N, ZERO32],
        [Buffer.alloc(32, 0xff), sv], [r, Buffer.alloc(32, 0xff)],
      ].map(([a, b]) => `${h}.${p}.${b64(Buffer.concat([a!, b!]))}`).concat(
        forge({ alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid }, goodClaims(v, { sub: 'admin' }), () => Buffer.alloc(64)),
      );
    },
  },

  // --- non-canonical base64url of otherwise genuine tokens ---
  {
    name: 'base64 padding "=" on the header, payload or signature of a genuine token',
    tokens: (v) => {
      const [h, p, s] = partsOf(v.pair.access_token);
      return [`${h}=.${p}.${s}`, `${h}.${p}=.${s}`, `${h}.${p}.${s}==`, `${h}.${p}.${s}=`];
    },
  },
  {
    name: 'trailing bits set in the last character of a genuine part (decodes to the same bytes)',
    tokens: (v) => {
      const [h, p, s] = partsOf(v.pair.access_token);
      const variants = [
        [withTrailingBits(h), p, s],
        [h, withTrailingBits(p), s],
        [h, p, withTrailingBits(s)],
      ].filter((parts) => parts.every((part) => part !== undefined));
      assert.ok(variants.length >= 1, 'an ES256 signature (86 characters) always has unused bits');
      // Sanity: the lax decoder reads the same bytes, so only a canonical-encoding check can refuse it.
      assert.deepEqual(unb64(withTrailingBits(s)!), unb64(s));
      return variants.map((parts) => parts.join('.'));
    },
  },
  {
    name: 'standard-base64 "+" and "/" in place of "-" and "_" in a genuine token',
    tokens: (v) => {
      const token = tokenWithUrlSafeChars(v);
      const [h, p, s] = partsOf(token);
      return [`${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}`];
    },
  },
  {
    name: 'whitespace, line breaks or other junk inside a genuine token',
    tokens: (v) => {
      const [h, p, s] = partsOf(v.pair.access_token);
      return [`${h} .${p}.${s}`, `${h}.${p}.${s.slice(0, 40)} ${s.slice(40)}`, `${h}.${p}.${s.slice(0, 40)}\t${s.slice(40)}`, `${h}..${p}.${s}`, `.${h}.${p}.${s}`, `${h}.${p}.${s}.`, `${h}.${p}.${s.slice(0, 40)}%${s.slice(41)}`];
    },
  },

  // --- JWE-shaped tokens ---
  {
    name: 'five-part JWE-shaped tokens, including a genuine JWE (ECDH-ES) encrypted to our public key',
    tokens: async (v) => {
      const { kid: _kid, alg: _alg, use: _use, ...keyOnly } = v.jwk as JsonWebKey & { kid: string; alg: string; use?: string };
      const encryptionKey = await importJWK(keyOnly as Parameters<typeof importJWK>[0], 'ECDH-ES');
      const jwe = await new CompactEncrypt(Buffer.from(JSON.stringify(goodClaims(v))))
        .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', kid: v.jwk.kid, typ: 'at+jwt' })
        .encrypt(encryptionKey);
      assert.equal(jwe.split('.').length, 5);
      const [h, p, s] = partsOf(v.pair.access_token);
      return [jwe, `${b64json({ alg: 'dir', enc: 'A128GCM', kid: v.jwk.kid })}..${b64('iv')}.${p}.${b64('tag')}`, `${h}.${p}.${s}.${s}.${s}`];
    },
  },

  // --- time claims ---
  {
    name: 'exp in the past beyond the leeway is token_expired (the one refusal clients act on)',
    code: 'token_expired',
    tokens: (v) => {
      const now = Math.floor(v.clock.now() / 1000);
      return [ourToken(v, goodClaims(v, { iat: now - 1000, exp: now - 60 }))];
    },
  },
  {
    name: 'nbf in the future beyond the leeway',
    tokens: (v) => [ourToken(v, goodClaims(v, { nbf: Math.floor(v.clock.now() / 1000) + 60 }))],
  },
  {
    name: 'iat in the future beyond the leeway',
    tokens: (v) => {
      const now = Math.floor(v.clock.now() / 1000);
      return [ourToken(v, goodClaims(v, { iat: now + 60, exp: now + 960 }))];
    },
  },

  // --- who the token is for and what it is ---
  {
    name: 'wrong iss (another issuer, a prefix, different case, missing)',
    tokens: (v) => {
      const iss = String(v.claims.iss);
      return [`${iss}.evil`, iss.toUpperCase(), iss.slice(0, -1), 'https://attacker.example', undefined].map((value) => ourToken(v, goodClaims(v, { iss: value })));
    },
  },
  {
    name: 'wrong aud (another audience, an array without ours, missing, empty)',
    tokens: (v) => [['other-api'], [['other-api']], [[]], [undefined], ['']].map(([aud]) => ourToken(v, goodClaims(v, { aud }))),
  },
  {
    name: 'wrong typ: JWT, jwt, application/jwt, missing, JOSE, a refresh-ish type',
    tokens: (v) => [
      ...['JWT', 'jwt', 'application/jwt', 'JOSE', 'rt+jwt', 'at+jwt; x=1', '', 42].map((typ) => ourToken(v, goodClaims(v), { typ })),
      ourToken(v, goodClaims(v), {}),
    ],
  },

  // --- claim types ---
  {
    name: 'claims with wrong JSON types (sub number, exp string, aud object, sid/jti missing or null, iat bool)',
    tokens: (v) => [
      { sub: 12345 }, { exp: String(Math.floor(v.clock.now() / 1000) + 900) }, { aud: { tollgate: true } }, { aud: { 0: v.claims.aud } },
      { sid: undefined }, { jti: undefined }, { sid: null }, { sub: '' }, { iat: true }, { exp: null }, { exp: -1 }, { sub: ['victim'] },
      { sid: 'x'.repeat(300) },
    ].map((changes) => ourToken(v, goodClaims(v, changes))),
  },
  {
    name: 'claims that JSON cannot hold as finite numbers (exp 1e400) or payloads that are not objects',
    tokens: (v) => {
      const claims = goodClaims(v);
      const raw = JSON.stringify(claims).replace(/"exp":\d+/, '"exp":1e400');
      return [raw, '[]', 'null', '"claims"', '42', JSON.stringify([claims])].map((payload) => ourSignature(v, { alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid }, payload));
    },
  },

  // --- duplicate members ---
  {
    name: 'duplicate keys in the header (kid, alg, typ) signed by our key',
    tokens: (v) => {
      const kid = JSON.stringify(v.jwk.kid);
      return [
        `{"alg":"ES256","typ":"at+jwt","kid":${kid},"kid":"unknown"}`,
        `{"alg":"ES256","typ":"at+jwt","kid":"unknown","kid":${kid}}`,
        `{"alg":"none","alg":"ES256","typ":"at+jwt","kid":${kid}}`,
        `{"alg":"ES256","typ":"JWT","typ":"at+jwt","kid":${kid}}`,
        `{"alg":"ES256","typ":"at+jwt","kid":${kid},"k\\u0069d":${kid}}`,
      ].map((header) => ourSignature(v, header, goodClaims(v)));
    },
  },
  {
    name: 'duplicate keys in the payload (two sub, two aud, two exp, escaped duplicate, nested) signed by our key',
    tokens: (v) => {
      const base = JSON.stringify(goodClaims(v)).slice(0, -1);
      return [
        `${base},"sub":"attacker"}`,
        `${base},"aud":"other-api"}`,
        `${base},"exp":99999999999}`,
        `${base},"s\\u0075b":"attacker"}`,
        `${base},"ext":{"role":"user","role":"admin"}}`,
      ].map((payload) => ourSignature(v, { alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid }, payload));
    },
  },

  // --- size ---
  {
    name: 'a token over 8 KiB (valid signature by our key, padded claims)',
    tokens: (v) => {
      const token = ourToken(v, goodClaims(v, { pad: 'x'.repeat(6200) }));
      assert.ok(token.length > 8192, `token is ${token.length} characters`);
      return [token];
    },
  },
];

// ---------------------------------------------------------------------------------------------

describe('forged and tampered access tokens are refused and leave the genuine session working', () => {
  const fixture = sharedVictim();

  test('control: a token re-signed by our own key with unchanged claims is accepted (so the cases below isolate one defect each)', async () => {
    const v = fixture();
    assert.equal((await present(v, ourToken(v, goodClaims(v)))).statusCode, 200);
    assert.equal((await present(v, ourSignature(v, { alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid }, goodClaims(v)))).statusCode, 200);
    assert.equal((await present(v, ourToken(v, goodClaims(v), { typ: 'application/at+jwt' }))).statusCode, 200);
    // Within the leeway (5 s) a slightly future iat/nbf is tolerated.
    const now = Math.floor(v.clock.now() / 1000);
    assert.equal((await present(v, ourToken(v, goodClaims(v, { iat: now + 4, nbf: now + 4 })))).statusCode, 200);
  });

  for (const attack of ATTACKS) {
    test(`${attack.name} → 401 ${attack.code ?? 'invalid_token'}`, async () => {
      const v = fixture();
      await assertRefused(v, await attack.tokens(v), attack.code);
    });
  }

  test('every invalid_token refusal has the same body, so the answer reveals nothing about which check failed', async () => {
    const v = fixture();
    const bodies = new Map<string, string>();
    for (const attack of ATTACKS.filter((a) => (a.code ?? 'invalid_token') === 'invalid_token')) {
      for (const token of await attack.tokens(v)) {
        const res = await present(v, token);
        assert.equal(errorCode(res), 'invalid_token', attack.name);
        if (!bodies.has(res.body)) bodies.set(res.body, attack.name);
      }
    }
    const distinct = [...bodies].map(([body, example]) => `  ${body}   (e.g. ${example})`).join('\n');
    assert.equal(bodies.size, 1, `${bodies.size} different invalid_token bodies:\n${distinct}`);
  });
});

describe('refresh and access tokens cannot stand in for each other', () => {
  test('a refresh token presented as an access token is invalid_token', async (t) => {
    const v = await victim(t);
    await assertRefused(v, [v.pair.refresh_token, `Bearer ${v.pair.refresh_token}`]);
    // The refresh token itself was not consumed or harmed.
    assert.equal((await refresh(v.app, v.pair.refresh_token)).statusCode, 200);
  });

  test('an access token presented as a refresh token is invalid_grant and the session survives', async (t) => {
    const v = await victim(t);
    for (const token of [v.pair.access_token, ourToken(v, goodClaims(v))]) {
      const res = await refresh(v.app, token);
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(errorCode(res), 'invalid_grant');
    }
    const logout = await v.app.inject({ method: 'POST', url: '/auth/logout', payload: { refresh_token: v.pair.access_token } });
    assert.equal(logout.statusCode, 401);
    assert.equal(errorCode(logout), 'invalid_grant');
    assert.equal((await me(v.app, v.pair.access_token)).statusCode, 200);
    assert.equal((await refresh(v.app, v.pair.refresh_token)).statusCode, 200);
  });

  test('a refresh token with a forged secret, generation or session id is invalid_grant and changes nothing', async (t) => {
    const v = await victim(t);
    const [prefix, sid, gen, secret] = v.pair.refresh_token.split('.') as [string, string, string, string];
    const forged = [
      `${prefix}.${sid}.${gen}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`,
      `${prefix}.${sid}.${Number(gen) + 1}.${secret}`,
      `${prefix}.${sid}.01.${secret}`,
      `${prefix}.${'A'.repeat(22)}.${gen}.${secret}`,
      `${prefix}.${sid}.${gen}.${withTrailingBits(secret) ?? secret}=`,
      `${prefix}.${sid}.${gen}.${secret}.${secret}`,
      `TGR.${sid}.${gen}.${secret}`,
    ];
    for (const token of forged) {
      const res = await refresh(v.app, token);
      assert.equal(errorCode(res), 'invalid_grant', token);
    }
    assert.equal((await refresh(v.app, v.pair.refresh_token)).statusCode, 200);
  });
});

describe('token checks with other configurations', () => {
  test('HS256 server: a token signed with a guessed secret or with alg none is refused; ES256 tokens are not accepted', async (t) => {
    const v = await victim(t, { TOLLGATE_JWT_ALG: 'HS256', TOLLGATE_JWT_SECRET: 'Zq3v9Lw2Xe7Rt5Yu1Io8Pa4Sd6Fg0Hj3Kl5Zx7Cv9Bn' });
    const kid = String(v.header.kid);
    const claims = goodClaims(v);
    const tokens = ['', 'secret', 'your-256-bit-secret', kid, 'tollgate'].map((secret) => forge({ alg: 'HS256', typ: 'at+jwt', kid }, claims, (input) => hs256(input, secret)));
    tokens.push(forge({ alg: 'none', typ: 'at+jwt', kid }, claims, () => ''));
    tokens.push(forge({ alg: 'ES256', typ: 'at+jwt', kid }, claims, (input) => es256(input, v.attacker.privateKey)));
    await assertRefused(v, tokens);
  });

  test('a genuine token is refused with 503, never accepted, while the session store is down (fail closed)', async (t) => {
    const v = await victim(t);
    await v.stores.close();
    const res = await me(v.app, v.pair.access_token);
    assert.equal(res.statusCode, 503);
    assert.equal(errorCode(res), 'unavailable');
    const todos = await v.app.inject({ method: 'GET', url: '/todos', headers: authed(v.pair.access_token) });
    assert.equal(todos.statusCode, 503);
  });

  test('a forged token does not reach the session store: refused with 401 even while the store is down', async (t) => {
    const v = await victim(t);
    const forged = forge({ alg: 'ES256', typ: 'at+jwt', kid: v.jwk.kid }, goodClaims(v), (input) => es256(input, v.attacker.privateKey));
    await v.stores.close();
    const res = await present(v, forged);
    assert.equal(res.statusCode, 401);
    assert.equal(errorCode(res), 'invalid_token');
  });
});
