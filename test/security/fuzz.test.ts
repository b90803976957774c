/**
 * Property tests with fast-check against the real app: whatever an attacker sends as a Bearer
 * token or as a request body, the server never answers 5xx, never accepts a token that is not
 * the genuine one, never creates a user from anything but a valid registration, and the genuine
 * session keeps working. Runs are bounded (a few hundred to a thousand each) and seeded by
 * fast-check; a failure prints the seed and the shrunk counterexample to replay.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { authed, buildTestApp, me, refresh, signUp, type Pair, type TestApp } from '../helper.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Characters a client can put in a header value (HTTP field-vchar, space and obs-text). */
const headerChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom(...BASE64URL, '.', '=', '+', '/', ' '),
);
const tokenChar = fc.constantFrom(...BASE64URL, '.', '=', '+', '/', ' ', '%', '\\', '"');

interface Fuzzed extends TestApp {
  readonly pair: Pair;
  /** Users in the database right now (read through a second connection to the same file). */
  userCount(): number;
}

/** A server on a temporary SQLite file (so a second connection can count rows) with one live session. */
async function fuzzTarget(t: TestContext): Promise<Fuzzed> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-fuzz-'));
  const testApp = await buildTestApp(t, { DATABASE_URL: `sqlite:${join(dir, 'fuzz.db')}` });
  const pair = await signUp(testApp.app, 'victim');
  const reader = new SQLite(join(dir, 'fuzz.db'), { readonly: true, fileMustExist: true });
  t.after(() => {
    reader.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const count = reader.prepare('select count(*) as n from users');
  return { ...testApp, pair, userCount: () => (count.get() as { n: number }).n };
}

async function assertGenuineSessionWorks(target: Fuzzed): Promise<void> {
  const res = await me(target.app, target.pair.access_token);
  assert.equal(res.statusCode, 200, `genuine access token refused after fuzzing: ${res.body}`);
  const rotated = await refresh(target.app, target.pair.refresh_token);
  assert.equal(rotated.statusCode, 200, `genuine refresh token refused after fuzzing: ${rotated.body}`);
}

function describeResponse(res: LightMyRequestResponse): string {
  return `${res.statusCode} ${res.body.slice(0, 300)}`;
}

// --- mutations of a genuine token -------------------------------------------------------------

type Mutation = (token: string) => string;

const jsonObject = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Replace one character.
  fc.tuple(fc.nat(), tokenChar).map(([i, c]): Mutation => (s) => {
    const at = i % Math.max(1, s.length);
    return s.slice(0, at) + c + s.slice(at + 1);
  }),
  // Flip one bit of one character's code (stays in a header-safe range when it can).
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 6 })).map(([i, bit]): Mutation => (s) => {
    const at = i % Math.max(1, s.length);
    const flipped = (s.charCodeAt(at) ^ (1 << bit)) & 0x7f;
    return s.slice(0, at) + String.fromCharCode(flipped < 0x20 ? flipped + 0x40 : flipped) + s.slice(at + 1);
  }),
  // Insert characters.
  fc.tuple(fc.nat(), fc.string({ unit: tokenChar, minLength: 1, maxLength: 4 })).map(([i, chunk]): Mutation => (s) => {
    const at = i % (s.length + 1);
    return s.slice(0, at) + chunk + s.slice(at);
  }),
  // Delete a run of characters.
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })).map(([i, n]): Mutation => (s) => {
    const at = i % Math.max(1, s.length);
    return s.slice(0, at) + s.slice(at + n);
  }),
  // Reorder, drop or repeat parts.
  fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 5 }).map((order): Mutation => (s) => {
    const parts = s.split('.');
    return order.map((i) => parts[i] ?? '').join('.');
  }),
  // Re-encode the header as random JSON, or as the real header with random members added or changed.
  fc.tuple(jsonObject, fc.boolean()).map(([extra, merge]): Mutation => (s) => {
    const [h = '', ...rest] = s.split('.');
    const header = merge ? { ...safeDecode(h), ...extra } : extra;
    return [Buffer.from(JSON.stringify(header)).toString('base64url'), ...rest].join('.');
  }),
  // Re-encode the payload the same way (the signature then no longer matches).
  fc.tuple(jsonObject, fc.boolean()).map(([extra, merge]): Mutation => (s) => {
    const [h = '', p = '', ...rest] = s.split('.');
    const payload = merge ? { ...safeDecode(p), ...extra } : extra;
    return [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), ...rest].join('.');
  }),
  // Random bytes as the signature.
  fc.uint8Array({ minLength: 0, maxLength: 80 }).map((bytes): Mutation => (s) => {
    const [h = '', p = ''] = s.split('.');
    return `${h}.${p}.${Buffer.from(bytes).toString('base64url')}`;
  }),
);

function safeDecode(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

// --- request bodies ----------------------------------------------------------------------------

const ROUTES = ['/auth/login', '/auth/register', '/auth/refresh', '/auth/logout', '/todos'] as const;
type Route = (typeof ROUTES)[number];

/** Objects shaped like what the routes take, with random values, so validation is not the only thing hit. */
const nearValidBody = fc.record(
  {
    username: fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom('victim', 'VICTIM', 'Ｖｉｃｔｉｍ', 'admin', "' OR 1=1 --", 'a\u0000b', 'x'.repeat(300))),
    password: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('password123', 'x'.repeat(2000), '')),
    refresh_token: fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^tgr\.[A-Za-z0-9_-]{22}\.(0|[1-9]\d{0,3})\.[A-Za-z0-9_-]{43}$/)),
    scope: fc.oneof(fc.constantFrom('local', 'others', 'global'), fc.string({ maxLength: 8 })),
    title: fc.string({ maxLength: 40 }),
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

/** JSON text: any JSON value, any object, near-valid shapes, and prototype-pollution attempts. */
const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.object({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'),
  nearValidBody.map((v) => JSON.stringify(v)),
  // (The attacker does not know the victim's password; these try to smuggle fields or identities.)
  fc.constantFrom(
    '{"__proto__":{"admin":true},"username":"mallory","password":"mallory knows this one"}',
    '{"constructor":{"prototype":{"admin":true}},"username":"mallory","password":"mallory knows this one"}',
    '{"username":"mallory","password":"mallory knows this one","username":"victim"}',
    '{"title":"x","__proto__":{"sub":"victim"}}',
  ),
);

/** Bodies in exactly the shape each route takes, with random values: these get past validation into the core. */
const username = fc.oneof(fc.string({ minLength: 1, maxLength: 70 }), fc.constantFrom('victim', 'VICTIM', 'Ｖｉｃｔｉｍ', 'victim ', 'vic\u200btim', "' OR 1=1 --"));
const password = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('password123', 'Password123', 'é'.repeat(600)));
const refreshToken = fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), fc.stringMatching(/^tgr\.[A-Za-z0-9_-]{22}\.(0|[1-9]\d{0,3})\.[A-Za-z0-9_-]{43}$/));
const shapedFor: Record<Route, fc.Arbitrary<Record<string, unknown>>> = {
  '/auth/login': fc.record({ username, password }),
  '/auth/register': fc.record({ username, password }),
  '/auth/refresh': fc.record({ refresh_token: refreshToken }),
  '/auth/logout': fc.record({ scope: fc.constantFrom('local', 'others', 'global'), refresh_token: refreshToken }, { requiredKeys: [] }),
  '/todos': fc.record({ title: fc.string({ maxLength: 600 }) }),
};
const shapedRequest = fc.constantFrom(...ROUTES).chain((route) => shapedFor[route].map((body) => [route, JSON.stringify(body)] as const));
const anyRequest = fc.tuple(fc.constantFrom(...ROUTES), jsonBody);

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=utf-16', 'application/json;;',
  'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=latin1', 'text/plain', 'text/html',
  'multipart/form-data; boundary=xyz', 'application/xml', 'application/merge-patch+json', 'application/jwt', '*/*', 'application/',
];

const rawBody = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  jsonBody,
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([u, p]) => `username=${encodeURIComponent(u)}&password=${encodeURIComponent(p)}`),
  fc.constantFrom('username=victim&username=admin&password=mallory+knows+this+one', 'username[]=a&password=b', '__proto__[admin]=1'),
  shapedRequest.map(([, body]) => body),
);

const contentType = fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }));

/** True when `body` is exactly what registration accepts in shape (the core decides the rest). */
function isRegistrationShape(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const keys = Object.keys(body);
  return keys.length === 2 && keys.includes('username') && keys.includes('password')
    && typeof (body as Record<string, unknown>).username === 'string' && typeof (body as Record<string, unknown>).password === 'string';
}

/**
 * Sends one body to one route and checks the invariants: no 5xx, a 201 only from a registration
 * (and then exactly one more user), otherwise no new user. /todos gets the genuine access token;
 * the other routes are sent unauthenticated, as an attacker without a session would.
 */
async function sendBody(target: Fuzzed, route: Route, payload: string | Buffer, type: string | undefined, parsedForCheck?: unknown): Promise<void> {
  const before = target.userCount();
  const headers: Record<string, string> = route === '/todos' ? authed(target.pair.access_token) : {};
  if (type !== undefined) headers['content-type'] = type;
  const res = await target.app.inject({ method: 'POST', url: route, headers, payload });
  const label = `${route} [${type}] ${JSON.stringify(payload.toString()).slice(0, 200)} → ${describeResponse(res)}`;
  assert.ok(res.statusCode < 500, label);
  assert.ok(res.statusCode >= 200, label);
  if (res.statusCode >= 400) assert.deepEqual(Object.keys(res.json()).sort(), ['error', 'message'], label);
  const after = target.userCount();
  if (route === '/auth/register' && res.statusCode === 201) {
    assert.equal(after, before + 1, label);
    if (parsedForCheck !== undefined) assert.ok(isRegistrationShape(parsedForCheck), label);
  } else {
    assert.equal(after, before, `a user was created by ${label}`);
  }
  if (route === '/auth/login' || route === '/auth/refresh') assert.notEqual(res.statusCode, 200, `${label}: a session was handed out`);
}

describe('fuzzing the HTTP surface', () => {
  test('random strings as Bearer tokens are always 401, never 200 or 5xx', async (t) => {
    const target = await fuzzTarget(t);
    const candidate = fc.oneof(
      fc.string({ unit: headerChar, maxLength: 300 }),
      fc.array(fc.string({ unit: fc.constantFrom(...BASE64URL), maxLength: 120 }), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.')),
      fc.tuple(jsonObject, jsonObject, fc.uint8Array({ maxLength: 70 })).map(([h, p, s]) =>
        [JSON.stringify(h), JSON.stringify(p)].map((x) => Buffer.from(x).toString('base64url')).concat(Buffer.from(s).toString('base64url')).join('.')),
    );
    await fc.assert(fc.asyncProperty(candidate, async (token) => {
      const res = await target.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 401, `${JSON.stringify(token)} → ${describeResponse(res)}`);
      assert.ok(['missing_token', 'invalid_token'].includes(res.json().error), describeResponse(res));
    }), { numRuns: 1000 });
    await assertGenuineSessionWorks(target);
  });

  test('mutated genuine tokens (flipped, inserted, deleted characters, swapped parts, re-encoded header or payload) are never accepted', async (t) => {
    const target = await fuzzTarget(t);
    const genuine = target.pair.access_token;
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
      const token = mutations.reduce((s, m) => m(s), genuine);
      // The server trims the header value; whitespace around the genuine token is the genuine token.
      fc.pre(token.trim() !== genuine);
      const res = await target.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 401, `${JSON.stringify(token)} → ${describeResponse(res)}`);
      assert.ok(['missing_token', 'invalid_token'].includes(res.json().error), describeResponse(res));
    }), { numRuns: 1000 });
    await assertGenuineSessionWorks(target);
  });

  test('random refresh tokens in the right format are invalid_grant and change nothing', async (t) => {
    const target = await fuzzTarget(t);
    const sessionId = target.pair.session_id;
    const forged = fc.oneof(
      fc.stringMatching(/^tgr\.[A-Za-z0-9_-]{22}\.(0|[1-9]\d{0,8})\.[A-Za-z0-9_-]{43}$/),
      // The victim's own session id with a guessed generation and secret.
      fc.tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 32, maxLength: 32 })).map(([gen, secret]) => `tgr.${sessionId}.${gen}.${Buffer.from(secret).toString('base64url')}`),
    );
    await fc.assert(fc.asyncProperty(forged, async (token) => {
      fc.pre(token !== target.pair.refresh_token);
      const res = await refresh(target.app, token);
      assert.equal(res.statusCode, 401, `${token} → ${describeResponse(res)}`);
      assert.equal(res.json().error, 'invalid_grant');
    }), { numRuns: 500 });
    await assertGenuineSessionWorks(target);
  });

  test('random JSON bodies to login, register, refresh, logout and todos: never 5xx, no user unless a valid registration, the session survives', async (t) => {
    const target = await fuzzTarget(t);
    await fc.assert(fc.asyncProperty(fc.oneof(anyRequest, shapedRequest), async ([route, body]) => {
      await sendBody(target, route, body, 'application/json', JSON.parse(body));
    }), { numRuns: 800 });
    await assertGenuineSessionWorks(target);
  });

  test('random raw bodies with random content types: never 5xx, no user unless a valid registration, the session survives', async (t) => {
    const target = await fuzzTarget(t);
    await fc.assert(fc.asyncProperty(fc.constantFrom(...ROUTES), rawBody, fc.option(contentType, { nil: undefined }), async (route, body, type) => {
      await sendBody(target, route, body, type);
    }), { numRuns: 800 });
    await assertGenuineSessionWorks(target);
  });
});
