// Two real `tollgate serve` processes on one PostgreSQL database and one Redis: a session is one
// session everywhere, and ending it on A is seen by B on the very next request. Over real HTTP on
// loopback. Needs TEST_DATABASE_URL and TEST_REDIS_URL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  claimRedisDb, freshPostgresDatabase, spawnServer, type ClaimedRedisDb, type FreshDatabase, type ServerProcess, httpCall,
} from '../support/spawn-server.js';

const databaseUrl = process.env.TEST_DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL;
const skip = !databaseUrl ? 'TEST_DATABASE_URL is not set' : !redisUrl ? 'TEST_REDIS_URL is not set' : undefined;

const PASSWORD = 'correct horse battery staple';
// Long enough that a 100-request burst on a loaded 2-core CI machine stays inside it; the test sleeps past it once.
const GRACE_S = 3;
let racers = 0;

interface Pair { access_token: string; refresh_token: string; session_id: string }

const call = httpCall;

function serverEnv(database: string, redis: string): Record<string, string> {
  return {
    DATABASE_URL: database, REDIS_URL: redis, LOG_LEVEL: 'info',
    // Both instances are one service to clients: one issuer, whatever port each listens on.
    TOLLGATE_ISSUER: 'http://tollgate.test', TOLLGATE_RATE_LIMIT_IP: '100000', TOLLGATE_REFRESH_GRACE: `${GRACE_S}s`,
  };
}

describe('two server instances on PostgreSQL and Redis', { skip: skip ?? false }, () => {
  let database: FreshDatabase | undefined;
  let redis: ClaimedRedisDb | undefined;
  const servers: ServerProcess[] = [];
  let A: string;
  let B: string;
  let users = 0;

  before(async () => {
    database = await freshPostgresDatabase(databaseUrl!);
    redis = await claimRedisDb(redisUrl!);
    // One after the other: starting at once on an empty database is its own test below.
    const env = serverEnv(database.url, redis.url);
    servers.push(await spawnServer(env));
    servers.push(await spawnServer(env));
    [A, B] = servers.map((s) => s.url) as [string, string];
  });
  after(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await redis?.release();
    await database?.drop();
  });

  async function signUp(on: string): Promise<{ username: string; pair: Pair }> {
    const username = `user${++users}`;
    assert.equal((await call(on, 'POST', '/auth/register', { body: { username, password: PASSWORD } })).status, 201);
    return { username, pair: await logIn(on, username) };
  }

  async function logIn(on: string, username: string, password = PASSWORD): Promise<Pair> {
    const res = await call(on, 'POST', '/auth/login', { body: { username, password } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as Pair;
  }

  async function assertRevoked(on: string, token: string): Promise<void> {
    const res = await call(on, 'GET', '/auth/me', { token });
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.equal(res.body.error, 'token_revoked');
  }

  async function assertLive(on: string, token: string): Promise<void> {
    const res = await call(on, 'GET', '/auth/me', { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  test('both instances serve the same signing keys', async () => {
    const [ja, jb] = await Promise.all([call(A, 'GET', '/.well-known/jwks.json'), call(B, 'GET', '/.well-known/jwks.json')]);
    assert.deepEqual(ja.body, jb.body);
    assert.equal(ja.body.keys.length, 1);
  });

  test('tokens issued by each instance are accepted by the other', async () => {
    const onA = await signUp(A);
    await assertLive(B, onA.pair.access_token);
    const onB = await signUp(B);
    await assertLive(A, onB.pair.access_token);
  });

  test('a session started on A refreshes on B, and the rotated pair works on A', async () => {
    const { pair } = await signUp(A);
    const rotated = await call(B, 'POST', '/auth/refresh', { body: { refresh_token: pair.refresh_token } });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.equal(rotated.body.session_id, pair.session_id);
    await assertLive(A, rotated.body.access_token);
    const again = await call(A, 'POST', '/auth/refresh', { body: { refresh_token: rotated.body.refresh_token } });
    assert.equal(again.status, 200);
    assert.equal(again.body.session_id, pair.session_id);
  });

  test('a refresh token rotated on A logs out on B, which had the session cached before the rotation', async () => {
    const { pair } = await signUp(A);
    await assertLive(B, pair.access_token);
    const rotated = await call(A, 'POST', '/auth/refresh', { body: { refresh_token: pair.refresh_token } });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const out = await call(B, 'POST', '/auth/logout', { body: { refresh_token: rotated.body.refresh_token } });
    assert.equal(out.status, 204, JSON.stringify(out.body));
    await assertRevoked(A, rotated.body.access_token);
    await assertRevoked(B, pair.access_token);
  });

  test('logout on A revokes the access token on B on the very next request', async () => {
    const { pair } = await signUp(A);
    await assertLive(B, pair.access_token);
    assert.equal((await call(A, 'POST', '/auth/logout', { token: pair.access_token, body: {} })).status, 204);
    await assertRevoked(B, pair.access_token);
    const refreshed = await call(B, 'POST', '/auth/refresh', { body: { refresh_token: pair.refresh_token } });
    assert.equal(refreshed.body.error, 'invalid_grant');
  });

  test('ending one session with DELETE /auth/sessions/:id on A revokes it on B at once, and only it', async () => {
    const { username, pair: phone } = await signUp(A);
    const laptop = await logIn(B, username);
    await assertLive(B, laptop.access_token);
    assert.equal((await call(A, 'DELETE', `/auth/sessions/${laptop.session_id}`, { token: phone.access_token })).status, 204);
    await assertRevoked(B, laptop.access_token);
    await assertLive(B, phone.access_token);
  });

  test('a password change on A ends the user\'s other sessions on B at once and keeps the caller\'s', async () => {
    const { username, pair: phone } = await signUp(A);
    const laptop = await logIn(B, username);
    const changed = await call(A, 'POST', '/auth/password', { token: phone.access_token, body: { current_password: PASSWORD, new_password: 'a whole new passphrase' } });
    assert.equal(changed.status, 204, JSON.stringify(changed.body));
    await assertRevoked(B, laptop.access_token);
    await assertLive(B, phone.access_token);
    await logIn(B, username, 'a whole new passphrase');
  });

  test('deleting the account on A revokes every session of the user on B at once', async () => {
    const { username, pair: phone } = await signUp(A);
    const laptop = await logIn(B, username);
    assert.equal((await call(A, 'DELETE', '/auth/account', { token: phone.access_token, body: { password: PASSWORD } })).status, 204);
    await assertRevoked(B, laptop.access_token);
    await assertRevoked(B, phone.access_token);
    const login = await call(B, 'POST', '/auth/login', { body: { username, password: PASSWORD } });
    assert.equal(login.body.error, 'invalid_credentials');
  });

  test('100 concurrent refreshes of one token across A and B all succeed on one branch; after the grace window the old token ends the session everywhere', async () => {
    // Warm both refresh paths and open keep-alive connections first, so that the burst fits well
    // inside the short grace window even on a busy machine.
    const warm = await signUp(B);
    await Promise.all(Array.from({ length: 40 }, (_, i) => call(i % 2 === 0 ? A : B, 'POST', '/auth/refresh', { body: { refresh_token: warm.pair.refresh_token } })));
    const { pair } = await signUp(A);
    const started = performance.now();
    const refreshes = await Promise.all(Array.from({ length: 100 }, (_, i) =>
      call(i % 2 === 0 ? A : B, 'POST', '/auth/refresh', { body: { refresh_token: pair.refresh_token } })));
    const took = Math.round(performance.now() - started);
    const failures = refreshes.filter((r) => r.status !== 200);
    assert.deepEqual(failures, [], `${failures.length} of 100 refreshes failed; the burst took ${took} ms (grace window ${GRACE_S * 1000} ms)`);
    assert.equal(new Set(refreshes.map((r) => r.body.refresh_token)).size, 1, 'every answer carries the same refresh token');
    assert.deepEqual(new Set(refreshes.map((r) => r.body.session_id)), new Set([pair.session_id]));
    const current = refreshes[0]!.body as Pair;
    await assertLive(A, refreshes[1]!.body.access_token);
    await assertLive(B, refreshes[0]!.body.access_token);

    await sleep(GRACE_S * 1000 + 500); // the one sleep: past the grace window of the first rotation
    const reuse = await call(B, 'POST', '/auth/refresh', { body: { refresh_token: pair.refresh_token } });
    assert.equal(reuse.status, 401);
    assert.equal(reuse.body.error, 'invalid_grant');
    for (const on of [A, B]) {
      assert.equal((await call(on, 'POST', '/auth/refresh', { body: { refresh_token: current.refresh_token } })).body.error, 'invalid_grant');
      await assertRevoked(on, current.access_token);
      await assertRevoked(on, pair.access_token);
    }
  });
});

describe('two server instances starting at once on an empty database', { skip: skip ?? false }, () => {
  test('agree on one signing key, so each accepts the other\'s tokens from the first request', {
  }, async () => {
    const database = await freshPostgresDatabase(databaseUrl!);
    const redis = await claimRedisDb(redisUrl!);
    const started = await Promise.allSettled([spawnServer(serverEnv(database.url, redis.url)), spawnServer(serverEnv(database.url, redis.url))]);
    try {
      const [a, b] = started.map((s) => {
        if (s.status === 'rejected') throw s.reason;
        return s.value.url;
      }) as [string, string];
      const [ja, jb] = await Promise.all([call(a, 'GET', '/.well-known/jwks.json'), call(b, 'GET', '/.well-known/jwks.json')]);
      assert.equal(ja.body.keys.length, 1, 'one signing key published');
      assert.deepEqual(ja.body, jb.body);
      for (const [from, to] of [[a, b], [b, a]] as const) {
        const username = `racer${++racers}`;
        await call(from, 'POST', '/auth/register', { body: { username, password: PASSWORD } });
        const login = await call(from, 'POST', '/auth/login', { body: { username, password: PASSWORD } });
        const res = await call(to, 'GET', '/auth/me', { token: login.body.access_token });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
    } finally {
      await Promise.allSettled(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
      await redis.release();
      await database.drop();
    }
  });
});
