// A real server process whose Redis (a private redis-server on its own port) dies and comes back:
// it fails closed with 503 `unavailable`, quickly, and recovers by itself. Accounts live in a SQLite
// file in a temporary directory, so this needs only `redis-server` on PATH. Also: a store that
// cannot be reached at start is one line on stderr and a non-zero exit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort, hasRedisServer, runServerToExit, spawnRedisServer, spawnServer, type RedisProcess, type ServerProcess,
} from '../support/spawn-server.js';

const skip = hasRedisServer() ? undefined : 'redis-server is not on PATH';
const PASSWORD = 'correct horse battery staple';
/** A bound on hanging, not a performance target: the Redis client's timeouts are 2 s. */
const ANSWER_WITHIN_MS = 5_000;
/**
 * How soon after a crash a cached session stops being answered from memory. The process learns of
 * the crash when its event loop reads the subscriber's closed socket (src/store/redis/invalidation-bus.ts),
 * which may come after an HTTP request that arrived in the same poll. Well under the session
 * cache's 2 s entry age, so only the subscriber's close handler can meet it.
 */
const NOTICE_CRASH_WITHIN_MS = 500;
const RESUME_WITHIN_MS = 10_000;

interface Answer { status: number; text: string; body: any; ms: number; headers: Headers }

async function call(base: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const res = await fetch(base + path, {
    method, headers, signal: AbortSignal.timeout(3 * ANSWER_WITHIN_MS), ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  return { status: res.status, text, body: text === '' ? null : JSON.parse(text), ms: performance.now() - started, headers: res.headers };
}

/**
 * Asks again every `everyMs` while `pending(answer)` holds, for at most `withinMs` from now; the last
 * answer. For polling until the server notices a change of its store, not for waiting out an expiry.
 */
async function pollWhile(ask: () => Promise<Answer>, pending: (answer: Answer) => boolean, withinMs: number, everyMs: number): Promise<Answer> {
  const deadline = performance.now() + withinMs;
  let answer = await ask();
  while (pending(answer) && performance.now() < deadline) {
    await sleep(everyMs);
    answer = await ask();
  }
  return answer;
}

let dir = '';
function tempDir(): string {
  dir ||= mkdtempSync(join(tmpdir(), 'tollgate-outage-'));
  return dir;
}
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a server whose Redis goes down and comes back', { skip: skip ?? false }, () => {
  let redis: RedisProcess | undefined;
  let server: ServerProcess | undefined;
  let url: string;
  let port: number;
  let old: { access_token: string; refresh_token: string };

  before(async () => {
    port = await freePort();
    redis = await spawnRedisServer(port);
    server = await spawnServer({ DATABASE_URL: `sqlite:${join(tempDir(), 'outage.db')}`, REDIS_URL: redis.url, TOLLGATE_RATE_LIMIT_IP: '100000' });
    url = server.url;
  });
  after(async () => {
    await server?.stop();
    await redis?.kill();
  });

  test('while Redis answers, the server works and /readyz lists both stores', async () => {
    assert.equal((await call(url, 'POST', '/auth/register', { body: { username: 'alice', password: PASSWORD } })).status, 201);
    const login = await call(url, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } });
    assert.equal(login.status, 200);
    old = login.body;
    assert.equal((await call(url, 'GET', '/auth/me', { token: old.access_token })).status, 200);
    assert.deepEqual((await call(url, 'GET', '/readyz')).body, { status: 'ok', stores: { sqlite: 'ok', redis: 'ok' } });
  });

  test('with Redis killed, a cached session is refused within 500 ms of the crash, and authenticated requests, refresh and login answer 503 unavailable with the contract body, in bounded time', async () => {
    await redis!.kill();
    // The session is in this process's cache (the test before asked GET /auth/me with it). Polled
    // until the process has read the subscriber's closed socket.
    const first = await pollWhile(() => call(url, 'GET', '/auth/me', { token: old.access_token }), (a) => a.status === 200, NOTICE_CRASH_WITHIN_MS, 5);
    assert.equal(first.status, 503, `still answered from the cache ${NOTICE_CRASH_WITHIN_MS} ms after the crash: ${first.text}`);
    const requests: [string, string, { token?: string; body?: unknown }][] = [
      ['GET', '/auth/me', { token: old.access_token }],
      ['GET', '/todos', { token: old.access_token }],
      ['POST', '/todos', { token: old.access_token, body: { title: 'during the outage' } }],
      ['GET', '/auth/sessions', { token: old.access_token }],
      ['POST', '/auth/refresh', { body: { refresh_token: old.refresh_token } }],
      ['POST', '/auth/logout', { token: old.access_token, body: {} }],
      ['POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } }],
      ['GET', '/auth/me', { token: old.access_token }],
    ];
    for (const [method, path, options] of requests) {
      const res = await call(url, method, path, options);
      const what = `${method} ${path}`;
      assert.ok(res.ms < ANSWER_WITHIN_MS, `${what} took ${Math.round(res.ms)} ms`);
      assert.equal(res.status, 503, `${what}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body).sort(), ['error', 'message'], what);
      assert.equal(res.body.error, 'unavailable', what);
      assert.doesNotMatch(res.text, /redis|ECONNREFUSED|ioredis|stack|\s{4}at /i, what);
      assert.equal(res.headers.get('retry-after'), '1', what);
    }
  });

  test('with Redis killed, /readyz is 503 naming redis as down and /healthz is still 200', async () => {
    const ready = await call(url, 'GET', '/readyz');
    assert.ok(ready.ms < ANSWER_WITHIN_MS, `/readyz took ${Math.round(ready.ms)} ms`);
    assert.equal(ready.status, 503);
    assert.equal(ready.body.error, 'unavailable');
    assert.deepEqual(ready.body.stores, { sqlite: 'ok', redis: 'down' });
    assert.match(ready.body.message, /redis/);
    const health = await call(url, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.ok(health.ms < ANSWER_WITHIN_MS);
  });

  test('when Redis is back on the same port the service resumes by itself; the lost session is revoked and a fresh login works', async () => {
    redis = await spawnRedisServer(port);
    const ready = await pollWhile(() => call(url, 'GET', '/readyz'), (a) => a.status !== 200, RESUME_WITHIN_MS, 100);
    assert.equal(ready.status, 200, `not ready ${RESUME_WITHIN_MS} ms after Redis restarted: ${ready.text}`);

    // The sessions lived in the killed Redis (no persistence): the old token must not come back.
    const stale = await call(url, 'GET', '/auth/me', { token: old.access_token });
    assert.equal(stale.status, 401);
    assert.equal(stale.body.error, 'token_revoked');
    assert.equal((await call(url, 'POST', '/auth/refresh', { body: { refresh_token: old.refresh_token } })).body.error, 'invalid_grant');

    const login = await call(url, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } });
    assert.equal(login.status, 200, login.text);
    assert.equal((await call(url, 'GET', '/auth/me', { token: login.body.access_token })).status, 200);
    assert.equal((await call(url, 'POST', '/auth/refresh', { body: { refresh_token: login.body.refresh_token } })).status, 200);
    old = login.body;
  });

  test('a Redis that stops answering (frozen, connections open) also gets 503 in bounded time, and service resumes when it thaws', async () => {
    redis!.freeze();
    try {
      for (const [method, path, body] of [['GET', '/auth/me', undefined], ['POST', '/todos', { title: 'stalled' }]] as const) {
        const res = await call(url, method, path, { token: old.access_token, body });
        assert.ok(res.ms < ANSWER_WITHIN_MS, `${method} ${path} took ${Math.round(res.ms)} ms`);
        assert.equal(res.status, 503, res.text);
        assert.equal(res.body.error, 'unavailable');
      }
      const ready = await call(url, 'GET', '/readyz');
      assert.ok(ready.ms < ANSWER_WITHIN_MS, `/readyz took ${Math.round(ready.ms)} ms`);
      assert.equal(ready.body.stores.redis, 'down');
    } finally {
      redis!.thaw();
    }
    const me = await pollWhile(() => call(url, 'GET', '/auth/me', { token: old.access_token }), (a) => a.status === 503, RESUME_WITHIN_MS, 100);
    assert.equal(me.status, 200, `the session survives a stall (Redis kept its data): ${me.text}`);
  });
});

describe('a store unreachable at start', () => {
  function assertOneLineExit(result: ReturnType<typeof runServerToExit>, store: RegExp): void {
    assert.equal(result.signal, null, `still running after the timeout: ${result.stderr}`);
    assert.notEqual(result.code, 0);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `expected one line on stderr, got:\n${result.stderr}`);
    assert.match(lines[0]!, store);
    assert.ok(!result.stderr.includes('    at '), 'no stack trace');
    assert.ok(!result.stderr.includes('s3cret'), 'no password from the URL');
  }

  test('an unreachable REDIS_URL exits non-zero with one line naming redis', async () => {
    const result = runServerToExit({ DATABASE_URL: `sqlite:${join(tempDir(), 'no-redis.db')}`, REDIS_URL: `redis://:s3cret@127.0.0.1:${await freePort()}` });
    assertOneLineExit(result, /redis/);
  });

  test('an unreachable PostgreSQL DATABASE_URL exits non-zero with one line naming postgres', async () => {
    const result = runServerToExit({ DATABASE_URL: `postgres://postgres:s3cret@127.0.0.1:${await freePort()}/tollgate` });
    assertOneLineExit(result, /postgres/);
  });

  test('a SQLite DATABASE_URL that cannot be opened exits non-zero with one line naming sqlite', {
  }, async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const DATABASE_URL = `sqlite:${join(file, 'tollgate.db')}`;
    // Without Redis the serve lock opens the path first; with it, the store does.
    assertOneLineExit(runServerToExit({ DATABASE_URL }), /sqlite/i);
    assertOneLineExit(runServerToExit({ DATABASE_URL, REDIS_URL: `redis://127.0.0.1:${await freePort()}` }), /sqlite/i);
  });
});
