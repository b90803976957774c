/**
 * Signing-key rotation (KeyRing.rotate through services.keys, and the `tollgate keys` CLI), with
 * the test clock. The promise: a new key is published before it signs (one access-token lifetime
 * ahead, or at once with `immediately`), tokens of the old key keep verifying until they expire,
 * and the old key disappears (from the JWKS and from verification) once its last token has
 * expired. Default lifetimes here: access tokens 900 s, clock leeway 5 s, so one "lifetime" is 905 s.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { KeyRing } from '../../src/core/keys.js';
import { signCompact } from '../../src/core/jws.js';
import { buildTestApp, errorCode, login, me, signUp, type TestApp } from '../helper.js';

const LIFETIME = 905;

function headerKid(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')).kid as string;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function jwksKids(app: FastifyInstance): Promise<string[]> {
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  assert.equal(res.statusCode, 200);
  return (res.json() as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort();
}

/** A syntactically fine token whose kid no key has: the verifier looks it up, misses, and reloads. */
function unknownKidToken(): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'at+jwt', kid: 'no-such-key' })}.${part({ sub: 'x' })}.${Buffer.alloc(64, 1).toString('base64url')}`;
}

/** A second KeyRing over the same key store: what `tollgate keys rotate` (another process) works with. */
function otherProcessRing(t: TestApp): Promise<KeyRing> {
  const { config } = t.services;
  return KeyRing.open(t.stores.keys, { alg: config.jwtAlg, secret: config.jwtSecret, accessTtl: config.accessTtl, clockLeeway: config.clockLeeway }, t.clock);
}

describe('key rotation through services.keys', () => {
  test('a scheduled rotation publishes the new key at once but signs with it only one access-token lifetime later', async (t) => {
    const { app, services, clock } = await buildTestApp(t);
    await signUp(app, 'alice');
    const oldKid = services.keys.signingKey().kid;
    const next = await services.keys.rotate();
    assert.notEqual(next.kid, oldKid);
    assert.deepEqual(await jwksKids(app), [oldKid, next.kid].sort(), 'the new key is published immediately');
    assert.equal(headerKid((await login(app, 'alice')).access_token), oldKid, 'the new key signed before its activation');
    clock.advance(LIFETIME - 1);
    assert.equal(headerKid((await login(app, 'alice')).access_token), oldKid, 'the new key signed before its activation');
    clock.advance(1);
    assert.equal(headerKid((await login(app, 'alice')).access_token), next.kid, 'the new key does not sign after its activation');
  });

  test('an immediate rotation signs with the new key at once and keeps the old one published', async (t) => {
    const { app, services } = await buildTestApp(t);
    await signUp(app, 'alice');
    const oldKid = services.keys.signingKey().kid;
    const next = await services.keys.rotate({ immediately: true });
    assert.equal(headerKid((await login(app, 'alice')).access_token), next.kid);
    assert.deepEqual(await jwksKids(app), [oldKid, next.kid].sort());
  });

  test('tokens signed by the old key keep verifying until they expire, then are token_expired (not invalid_token), even after the key ring reloads', async (t) => {
    const { app, services, clock } = await buildTestApp(t);
    const pair = await signUp(app, 'alice');
    await services.keys.rotate({ immediately: true });
    assert.equal((await me(app, pair.access_token)).statusCode, 200);
    clock.advance(900 + 4); // past exp, inside the 5 s leeway
    assert.equal((await me(app, pair.access_token)).statusCode, 200);
    clock.advance(1);
    // Any token with an unknown kid (a stray client, an attacker) makes the ring reload from the store.
    assert.equal(errorCode(await me(app, unknownKidToken())), 'invalid_token');
    // Clients refresh on token_expired; invalid_token would make them drop the session instead.
    assert.equal(errorCode(await me(app, pair.access_token)), 'token_expired');
  });

  test('the last token the old key signs before a scheduled switch stays valid for its whole lifetime', async (t) => {
    const { app, services, clock } = await buildTestApp(t);
    await signUp(app, 'alice');
    const oldKid = services.keys.signingKey().kid;
    await services.keys.rotate();
    clock.advance(LIFETIME - 1);
    const last = await login(app, 'alice');
    assert.equal(headerKid(last.access_token), oldKid);
    clock.advance(1 + 900);
    assert.equal((await me(app, last.access_token)).statusCode, 200, 'a token of the retired key was refused before it expired');
  });

  test('the old key stays in the JWKS while its tokens may be valid and drops from it within one more token lifetime', async (t) => {
    const { app, services, clock } = await buildTestApp(t);
    await signUp(app, 'alice');
    const oldKid = services.keys.signingKey().kid;
    const next = await services.keys.rotate({ immediately: true });
    clock.advance(LIFETIME - 1);
    assert.deepEqual(await jwksKids(app), [oldKid, next.kid].sort());
    clock.advance(1 + LIFETIME);
    assert.deepEqual(await jwksKids(app), [next.kid]);
  });

  test('a key that has dropped from the JWKS no longer verifies anything, even a token with fresh claims or one accepted before', async (t) => {
    const testApp = await buildTestApp(t);
    const { app, services, stores, clock } = testApp;
    const pair = await signUp(app, 'alice');
    const old = (await stores.keys.listKeys()).find((k) => k.kid === headerKid(pair.access_token))!;
    const oldKey = { kid: old.kid, alg: old.alg, key: createPrivateKey({ key: old.privateJwk, format: 'jwk' }) };
    // Someone holding the old private key (a backup, a leaked dump) signs tokens for a live session.
    const forgeWithOldKey = (lifetimeSeconds: number) => {
      const now = Math.floor(clock.now() / 1000);
      return signCompact({ typ: 'at+jwt' }, { ...claimsOf(pair.access_token), iat: now, exp: now + lifetimeSeconds }, oldKey);
    };
    // One made while the key still verifies, valid for a day, and used once (so any verification cache holds it).
    const longLived = forgeWithOldKey(86_400);
    assert.equal((await me(app, longLived)).statusCode, 200, 'precondition: the old key still verifies');
    await services.keys.rotate({ immediately: true });
    clock.advance(2 * LIFETIME);
    assert.ok(!(await jwksKids(app)).includes(old.kid), 'precondition: the old key left the JWKS');
    for (const [label, token] of [['a fresh token', forgeWithOldKey(900)], ['the token accepted before the drop', longLived]] as const) {
      const res = await me(app, token);
      assert.equal(res.statusCode, 401, `${label} signed by a dropped key was accepted: ${res.statusCode} ${res.body}`);
      assert.equal(errorCode(res), 'invalid_token', label);
    }
  });

  test('an immediate rotation after a scheduled one retires every older key at once (only the newest signs)', async (t) => {
    const { app, services, stores, clock } = await buildTestApp(t);
    await signUp(app, 'alice');
    await services.keys.rotate();
    clock.advance(60);
    const newest = await services.keys.rotate({ immediately: true });
    assert.equal(headerKid((await login(app, 'alice')).access_token), newest.kid);
    const now = clock.now();
    for (const key of await stores.keys.listKeys()) {
      if (key.kid === newest.kid) continue;
      assert.ok(key.retiresAt !== null && key.retiresAt <= now, `key ${key.kid} still retires in the future (${key.retiresAt === null ? 'never' : `${(key.retiresAt - now) / 1000} s`})`);
      assert.ok(key.expiresAt !== null && key.expiresAt <= now + 2 * LIFETIME * 1000, `key ${key.kid} keeps verifying for more than two lifetimes after the emergency rotation`);
    }
  });

  test('HS256 keys cannot be rotated through the ring (the secret is the key)', async (t) => {
    const { services } = await buildTestApp(t, { TOLLGATE_JWT_ALG: 'HS256', TOLLGATE_JWT_SECRET: 'Zq3v9Lw2Xe7Rt5Yu1Io8Pa4Sd6Fg0Hj3Kl5Zx7Cv9Bn' });
    await assert.rejects(services.keys.rotate(), /TOLLGATE_JWT_SECRET/);
  });
});

describe('a rotation made by another process (the CLI) reaches the running server', () => {
  test('the running server publishes the new key well before it activates, then signs with it', async (t) => {
    const testApp = await buildTestApp(t);
    const { app, clock } = testApp;
    const pair = await signUp(app, 'alice');
    const oldKid = headerKid(pair.access_token);
    const next = await (await otherProcessRing(testApp)).rotate();
    // JWKS consumers may cache for up to 300 s; the key must be out there long before it signs.
    clock.advance(60);
    assert.deepEqual(await jwksKids(app), [oldKid, next.kid].sort(), 'the running server does not publish a key rotated by the CLI');
    clock.advance(LIFETIME - 60 - 1);
    const lastOfOld = await login(app, 'alice');
    assert.equal(headerKid(lastOfOld.access_token), oldKid, 'the new key signed before its activation');
    clock.advance(1);
    assert.equal(headerKid((await login(app, 'alice')).access_token), next.kid, 'the running server keeps signing with the retired key');
    assert.equal((await me(app, lastOfOld.access_token)).statusCode, 200, 'tokens of the old key must keep verifying');
  });
});

describe('tollgate keys (CLI)', () => {
  const repo = fileURLToPath(new URL('../../', import.meta.url));

  function cli(databaseUrl: string, args: string[], extraEnv: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 60_000,
      // A clean environment: only what the CLI needs, so a developer's TOLLGATE_* cannot leak in.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', ...extraEnv },
    });
    return { status: res.status, stdout: res.stdout, stderr: res.stderr };
  }

  interface Listed { kid: string; alg: string; state: string }
  function parseList(stdout: string): Listed[] {
    return [...stdout.matchAll(/^(\S{43})\s+(ES256|EdDSA|RS256)\s+(.+)$/gm)].map(([, kid, alg, state]) => ({ kid: kid!, alg: alg!, state: state!.trim() }));
  }

  test('keys list, keys rotate and keys rotate --now report kids and states against a SQLite file', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const url = `sqlite:${join(dir, 't.db')}`;

    const first = cli(url, ['keys', 'list']);
    assert.equal(first.status, 0, first.stderr);
    const initial = parseList(first.stdout);
    assert.equal(initial.length, 1, first.stdout);
    assert.equal(initial[0]!.state, 'signing');

    const rotated = cli(url, ['keys', 'rotate']);
    assert.equal(rotated.status, 0, rotated.stderr);
    const scheduledKid = /new key (\S+) \(ES256\) published; signs from (\S+)/.exec(rotated.stdout)?.[1];
    assert.ok(scheduledKid, rotated.stdout);

    const afterRotate = parseList(cli(url, ['keys', 'list']).stdout);
    assert.deepEqual(afterRotate.map((k) => [k.kid, k.state]), [
      [initial[0]!.kid, 'signing until retirement'],
      [scheduledKid, 'published, not yet signing'],
    ]);

    const now = cli(url, ['keys', 'rotate', '--now']);
    assert.equal(now.status, 0, now.stderr);
    const immediateKid = /new key (\S+) \(ES256\) published/.exec(now.stdout)?.[1];
    assert.ok(immediateKid, now.stdout);

    const listed = cli(url, ['keys', 'list']);
    const afterNow = parseList(listed.stdout);
    assert.equal(afterNow.length, 3, listed.stdout);
    assert.equal(afterNow.find((k) => k.kid === immediateKid)?.state, 'signing');
    assert.equal(afterNow.find((k) => k.kid === scheduledKid)?.state, 'retired (verifies only)');
    // After an immediate rotation exactly one key signs; the list must not show two.
    const signing = afterNow.filter((k) => k.state.startsWith('signing'));
    assert.deepEqual(signing.map((k) => k.kid), [immediateKid], `more than one key shown as signing:\n${listed.stdout}`);
  });

  test('a server started on the database after `keys rotate --now` signs with the new key and still verifies the old one', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const url = `sqlite:${join(dir, 't.db')}`;
    // The CLI runs on the wall clock, so these servers' test clocks are moved to it too.
    const atWallClock = async () => {
      const started = await buildTestApp(t, { DATABASE_URL: url });
      started.clock.advance((Date.now() - started.clock.now()) / 1000);
      return started;
    };
    // A server issues a token; the CLI rotates with --now; a fresh server (a restart) opens the same file.
    const before = await atWallClock();
    const pair = await signUp(before.app, 'alice');
    const out = cli(url, ['keys', 'rotate', '--now']);
    assert.equal(out.status, 0, out.stderr);
    const newKid = /new key (\S+) /.exec(out.stdout)?.[1];
    const after = await atWallClock();
    assert.equal(headerKid((await login(after.app, 'alice')).access_token), newKid);
    assert.equal((await me(after.app, pair.access_token)).statusCode, 200);
    assert.deepEqual(await jwksKids(after.app), [headerKid(pair.access_token), newKid!].sort());
  });

  test('keys rotate under HS256 fails with one line (no stack trace) pointing at TOLLGATE_JWT_SECRET', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const res = cli(`sqlite:${join(dir, 't.db')}`, ['keys', 'rotate'], { TOLLGATE_JWT_ALG: 'HS256', TOLLGATE_JWT_SECRET: 'Zq3v9Lw2Xe7Rt5Yu1Io8Pa4Sd6Fg0Hj3Kl5Zx7Cv9Bn' });
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /TOLLGATE_JWT_SECRET/);
    assert.equal(res.stderr.trim().split('\n').length, 1, `expected one line:\n${res.stderr}`);
    assert.doesNotMatch(res.stderr, /unexpected error|\n\s+at /);
  });
});
