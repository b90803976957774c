// The real app end to end on PostgreSQL (accounts, todos, keys) and Redis (sessions, rate limits),
// through app.inject. Uses a fresh PostgreSQL database and a Redis logical database of its own.
// Needs TEST_DATABASE_URL and TEST_REDIS_URL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authed, buildTestApp, errorCode, login, me, refresh, register, signUp, type Pair } from '../helper.js';
import { claimRedisDb, freshPostgresDatabase, type ClaimedRedisDb, type FreshDatabase } from '../support/spawn-server.js';

const databaseUrl = process.env.TEST_DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL;
const skip = !databaseUrl ? 'TEST_DATABASE_URL is not set' : !redisUrl ? 'TEST_REDIS_URL is not set' : undefined;

describe('the app on PostgreSQL and Redis', { skip: skip ?? false }, () => {
  let database: FreshDatabase | undefined;
  let redis: ClaimedRedisDb | undefined;
  let env: Record<string, string>;

  before(async () => {
    database = await freshPostgresDatabase(databaseUrl!);
    redis = await claimRedisDb(redisUrl!);
    env = { DATABASE_URL: database.url, REDIS_URL: redis.url };
  });
  after(async () => {
    await redis?.release();
    await database?.drop();
  });

  test('register, login, todo CRUD, refresh and logout all work, and logout revokes the access token', async (t) => {
    const { app, stores } = await buildTestApp(t, env, { clockStart: Date.now() });
    assert.deepEqual(stores.health.map((h) => h.name), ['postgres', 'redis']);
    assert.deepEqual((await app.inject({ method: 'GET', url: '/readyz' })).json().stores, { postgres: 'ok', redis: 'ok' });

    assert.equal((await register(app, 'Alice')).statusCode, 201);
    assert.equal(errorCode(await register(app, 'alice')), 'username_taken');
    const pair = await login(app, 'alice');
    assert.equal((await me(app, pair.access_token)).json().user.username, 'Alice');

    const headers = authed(pair.access_token);
    const first = await app.inject({ method: 'POST', url: '/todos', headers, payload: { title: 'buy milk' } });
    assert.equal(first.statusCode, 201);
    const second = (await app.inject({ method: 'POST', url: '/todos', headers, payload: { title: 'walk the dog' } })).json();
    const list = (await app.inject({ method: 'GET', url: '/todos', headers })).json();
    assert.deepEqual(list.todos.map((x: { title: string }) => x.title), ['walk the dog', 'buy milk']);
    const patched = await app.inject({ method: 'PATCH', url: `/todos/${first.json().id}`, headers, payload: { done: true } });
    assert.equal(patched.statusCode, 200);
    assert.deepEqual({ title: patched.json().title, done: patched.json().done }, { title: 'buy milk', done: true });
    assert.equal((await app.inject({ method: 'DELETE', url: `/todos/${second.id}`, headers })).statusCode, 204);
    assert.equal((await app.inject({ method: 'GET', url: `/todos/${second.id}`, headers })).statusCode, 404);

    // Another user sees none of it.
    const bob = await signUp(app, 'bob');
    assert.equal((await app.inject({ method: 'GET', url: `/todos/${first.json().id}`, headers: authed(bob.access_token) })).statusCode, 404);

    const rotated = await refresh(app, pair.refresh_token);
    assert.equal(rotated.statusCode, 200);
    const next = rotated.json() as Pair;
    assert.equal(next.session_id, pair.session_id);
    assert.notEqual(next.refresh_token, pair.refresh_token);
    assert.equal((await me(app, next.access_token)).statusCode, 200);

    const out = await app.inject({ method: 'POST', url: '/auth/logout', headers: authed(next.access_token), payload: {} });
    assert.equal(out.statusCode, 204);
    for (const token of [next.access_token, pair.access_token]) {
      const res = await me(app, token);
      assert.equal(res.statusCode, 401);
      assert.equal(errorCode(res), 'token_revoked');
    }
    assert.equal(errorCode(await refresh(app, next.refresh_token)), 'invalid_grant');
    assert.equal((await me(app, bob.access_token)).statusCode, 200, 'other sessions live on');
  });

  test('a second app on the same stores accepts the first one\'s tokens and sees its logout at once', async (t) => {
    const one = await buildTestApp(t, env, { clockStart: Date.now() });
    const two = await buildTestApp(t, env, { clockStart: Date.now() });
    const pair = await signUp(one.app, 'carol');
    assert.equal((await me(two.app, pair.access_token)).statusCode, 200);
    const rotated = (await refresh(two.app, pair.refresh_token)).json() as Pair;
    assert.equal(rotated.session_id, pair.session_id);
    await one.app.inject({ method: 'POST', url: '/auth/logout', headers: authed(rotated.access_token), payload: {} });
    assert.equal(errorCode(await me(two.app, rotated.access_token)), 'token_revoked');
  });
});
