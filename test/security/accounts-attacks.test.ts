/**
 * Attacks on accounts and credentials through the real HTTP app: brute force against the rate
 * limits (per client IP and per account, with small configured limits and the test clock),
 * user enumeration, weak passwords and weak HS256 secrets, what the store and the logs would give
 * away if dumped, and the response headers that keep tokens out of caches and other origins.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { PasswordHasher } from '../../src/core/passwords.js';
import { loggerOptions } from '../../src/server.js';
import { createServices } from '../../src/services.js';
import { openStores } from '../../src/store/open.js';
import {
  PASSWORD, TEST_ARGON2, TestClock, authed, buildTestApp, errorCode, listen, login, me, refresh, register, signUp, type Pair,
} from '../helper.js';

const WINDOW = 60;

function limited(env: Record<string, string>): Record<string, string> {
  return { TOLLGATE_RATE_LIMIT_IP: '1000', TOLLGATE_RATE_LIMIT_ACCOUNT: '1000', TOLLGATE_RATE_LIMIT_WINDOW: `${WINDOW}s`, ...env };
}

function loginFrom(app: FastifyInstance, ip: string, username: string, password: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/auth/login', payload: { username, password }, remoteAddress: ip });
}

/** 429 rate_limited with a Retry-After of whole seconds, more than 0 and at most one window. */
function assertRateLimited(res: LightMyRequestResponse, label = ''): void {
  assert.equal(res.statusCode, 429, `${label} ${res.statusCode} ${res.body}`);
  assert.equal(errorCode(res), 'rate_limited', label);
  const retryAfter = String(res.headers['retry-after']);
  assert.match(retryAfter, /^\d+$/, `${label} Retry-After ${retryAfter}`);
  assert.ok(Number(retryAfter) > 0 && Number(retryAfter) <= WINDOW, `${label} Retry-After ${retryAfter}`);
}

/** Everything about a response a client can see, minus what legitimately differs per request. */
function observable(res: LightMyRequestResponse): { status: number; body: string; headers: Record<string, unknown> } {
  const { date: _date, 'request-id': _rid, ...headers } = res.headers;
  return { status: res.statusCode, body: res.body, headers };
}

describe('rate limits through HTTP', () => {
  // One attempt of each limited route from `ip`: [route name, request] — every attempt counts, success or not.
  const ROUTES: [string, (ctx: { app: FastifyInstance; pair: Pair; ip: string; n: number }) => Promise<LightMyRequestResponse>][] = [
    ['POST /auth/login', ({ app, ip }) => loginFrom(app, ip, 'victim', 'not the password')],
    ['POST /auth/register', ({ app, ip, n }) => app.inject({ method: 'POST', url: '/auth/register', payload: { username: `newcomer${n}`, password: PASSWORD }, remoteAddress: ip })],
    ['POST /auth/refresh', ({ app, ip }) => app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: `tgr.${'A'.repeat(22)}.0.${'B'.repeat(43)}` }, remoteAddress: ip })],
    ['POST /auth/password', ({ app, ip, pair }) => app.inject({
      method: 'POST', url: '/auth/password', headers: authed(pair.access_token),
      payload: { current_password: 'not the password', new_password: 'a brand new passphrase' }, remoteAddress: ip,
    })],
  ];

  for (const [name, attempt] of ROUTES) {
    test(`${name}: past the per-IP limit the client gets 429 rate_limited with Retry-After; other IPs are unaffected; the window passing lifts it`, async (t) => {
      const { app, clock } = await buildTestApp(t, limited({ TOLLGATE_RATE_LIMIT_IP: '3' }));
      const pair = await signUp(app, 'victim');
      let n = 0;
      for (let i = 0; i < 3; i++) {
        const res = await attempt({ app, pair, ip: '203.0.113.7', n: n++ });
        assert.notEqual(res.statusCode, 429, `attempt ${i + 1} of 3 was limited`);
      }
      assertRateLimited(await attempt({ app, pair, ip: '203.0.113.7', n: n++ }), name);
      assert.notEqual((await attempt({ app, pair, ip: '198.51.100.9', n: n++ })).statusCode, 429, 'another IP was limited');
      clock.advance(WINDOW);
      assert.notEqual((await attempt({ app, pair, ip: '203.0.113.7', n: n++ })).statusCode, 429, 'still limited after the window');
      // The limited attempts did no harm to the account's owner.
      assert.equal((await me(app, pair.access_token)).statusCode, 200);
    });
  }

  test('a registration refused by the per-IP limit creates no user', async (t) => {
    const { app, stores } = await buildTestApp(t, limited({ TOLLGATE_RATE_LIMIT_IP: '1' }));
    assert.equal((await app.inject({ method: 'POST', url: '/auth/register', payload: { username: 'first', password: PASSWORD }, remoteAddress: '203.0.113.7' })).statusCode, 201);
    const res = await app.inject({ method: 'POST', url: '/auth/register', payload: { username: 'second', password: PASSWORD }, remoteAddress: '203.0.113.7' });
    assertRateLimited(res);
    assert.equal(await stores.accounts.findUserByName('second'), null);
  });

  test('a refresh refused by the per-IP limit does not consume the refresh token', async (t) => {
    const { app, clock } = await buildTestApp(t, limited({ TOLLGATE_RATE_LIMIT_IP: '1' }));
    const pair = await signUp(app, 'victim');
    await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: 'garbage' }, remoteAddress: '203.0.113.7' });
    assertRateLimited(await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: pair.refresh_token }, remoteAddress: '203.0.113.7' }));
    clock.advance(WINDOW);
    assert.equal((await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: pair.refresh_token }, remoteAddress: '203.0.113.7' })).statusCode, 200);
  });

  test('failed logins against one account are limited even when each comes from a different IP, whatever the spelling of the name', async (t) => {
    const { app } = await buildTestApp(t, limited({ TOLLGATE_RATE_LIMIT_ACCOUNT: '3' }));
    await register(app, 'victim');
    const spellings = ['victim', 'VICTIM', 'Victim', 'ｖｉｃｔｉｍ'];
    for (let i = 0; i < 3; i++) {
      const res = await loginFrom(app, `198.51.100.${i + 1}`, spellings[i]!, `guess number ${i}`);
      assert.equal(errorCode(res), 'invalid_credentials');
    }
    // Even the right password, from yet another address, waits for the window now.
    assertRateLimited(await loginFrom(app, '198.51.100.200', spellings[3]!, PASSWORD), 'per-account');
    // Other accounts are not affected.
    await register(app, 'bystander');
    assert.equal((await loginFrom(app, '198.51.100.200', 'bystander', PASSWORD)).statusCode, 200);
  });

  test('a login flood against one account does not lock the owner out for good: after the window the owner logs in', async (t) => {
    const { app, clock } = await buildTestApp(t, limited({ TOLLGATE_RATE_LIMIT_ACCOUNT: '5' }));
    await register(app, 'victim');
    for (let i = 0; i < 40; i++) await loginFrom(app, `10.0.${i >> 8}.${i & 255}`, 'victim', `flood ${i}`);
    assertRateLimited(await loginFrom(app, '192.0.2.1', 'victim', PASSWORD), 'during the flood');
    clock.advance(WINDOW - 1);
    assertRateLimited(await loginFrom(app, '192.0.2.1', 'victim', PASSWORD), 'one second before the window ends');
    clock.advance(1);
    assert.equal((await loginFrom(app, '192.0.2.1', 'victim', PASSWORD)).statusCode, 200, 'the owner is still locked out after the window');
  });

  test('successful logins do not count toward the per-account failure limit', async (t) => {
    const { app } = await buildTestApp(t, limited({ TOLLGATE_RATE_LIMIT_ACCOUNT: '2' }));
    await register(app, 'victim');
    for (let i = 0; i < 6; i++) assert.equal((await loginFrom(app, '192.0.2.1', 'victim', PASSWORD)).statusCode, 200, `login ${i + 1}`);
  });

  test('password-change guesses with a stolen access token are limited per account, across IPs', async (t) => {
    const { app } = await buildTestApp(t, limited({ TOLLGATE_RATE_LIMIT_ACCOUNT: '3' }));
    const pair = await signUp(app, 'victim');
    const change = (ip: string, current: string) => app.inject({
      method: 'POST', url: '/auth/password', headers: authed(pair.access_token), remoteAddress: ip,
      payload: { current_password: current, new_password: 'stolen-token new passphrase' },
    });
    for (let i = 0; i < 3; i++) assert.equal(errorCode(await change(`198.51.100.${i + 1}`, `guess ${i}`)), 'invalid_credentials');
    assertRateLimited(await change('198.51.100.99', PASSWORD), 'password change');
  });
});

describe('no user enumeration', () => {
  test('unknown user, wrong password and a name that cannot exist get identical status, headers and body', async (t) => {
    const { app } = await buildTestApp(t);
    await register(app, 'victim');
    const wrong = observable(await loginFrom(app, '192.0.2.1', 'victim', 'wrong password!'));
    assert.equal(wrong.status, 401);
    for (const username of ['nobody', 'VICTIM2', 'ab', ' victim', 'x'.repeat(65), 'vic\u200btim']) {
      assert.deepEqual(observable(await loginFrom(app, '192.0.2.1', username, 'wrong password!')), wrong, JSON.stringify(username));
    }
    // The same holds for HTML-form logins.
    const form = (username: string) => app.inject({
      method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `username=${encodeURIComponent(username)}&password=wrong+password%21`,
    });
    assert.deepEqual(observable(await form('nobody')), observable(await form('victim')));
  });

  test('the per-account limit answers the same for an unknown name as for a real one', async (t) => {
    const { app } = await buildTestApp(t, limited({ TOLLGATE_RATE_LIMIT_ACCOUNT: '2' }));
    await register(app, 'victim');
    const flood = async (username: string) => {
      const seen: ReturnType<typeof observable>[] = [];
      for (let i = 0; i < 3; i++) seen.push(observable(await loginFrom(app, `198.51.100.${i}`, username, 'wrong password!')));
      return seen;
    };
    assert.deepEqual(await flood('nobody'), await flood('victim'));
  });

  test('registration of a taken name is the only place that says the name exists', async (t) => {
    const { app } = await buildTestApp(t);
    await register(app, 'victim');
    const taken = await register(app, 'Victim');
    assert.equal(taken.statusCode, 409);
    assert.equal(errorCode(taken), 'username_taken');
    const free = await register(app, 'newcomer');
    assert.equal(free.statusCode, 201);
    // Login does not tell: see the test above. Sessions and todos of others answer like unknown ones.
    const pair = await login(app, 'newcomer');
    const victimPair = await login(app, 'victim');
    const other = await app.inject({ method: 'DELETE', url: `/auth/sessions/${victimPair.session_id}`, headers: authed(pair.access_token) });
    const unknown = await app.inject({ method: 'DELETE', url: `/auth/sessions/${'A'.repeat(22)}`, headers: authed(pair.access_token) });
    assert.deepEqual(observable(other), observable(unknown));
  });
});

describe('weak passwords and secrets are refused', () => {
  const COMMON = ['password123', 'Password123', 'PASSWORD1', 'qwertyuiop', 'iloveyou', 'trustno1', '１２３４５６７８９'];

  test('common passwords (any case, full-width digits) are refused at registration', async (t) => {
    const { app, stores } = await buildTestApp(t);
    for (const [i, password] of COMMON.entries()) {
      const res = await register(app, `user${i}`, password);
      assert.equal(res.statusCode, 400, password);
      assert.equal(errorCode(res), 'invalid_request');
      assert.match(res.json().message, /common/, password);
      assert.equal(await stores.accounts.findUserByName(`user${i}`), null);
    }
  });

  test('common passwords are refused at password change, and the old password keeps working', async (t) => {
    const { app } = await buildTestApp(t);
    const pair = await signUp(app, 'victim');
    for (const password of COMMON) {
      const res = await app.inject({ method: 'POST', url: '/auth/password', headers: authed(pair.access_token), payload: { current_password: PASSWORD, new_password: password } });
      assert.equal(res.statusCode, 400, password);
      assert.match(res.json().message, /common/, password);
    }
    assert.equal((await loginFrom(app, '192.0.2.1', 'victim', PASSWORD)).statusCode, 200);
    assert.equal((await me(app, pair.access_token)).statusCode, 200);
  });

  function configProblem(secret: string | undefined): string {
    const env: Record<string, string> = { TOLLGATE_JWT_ALG: 'HS256' };
    if (secret !== undefined) env.TOLLGATE_JWT_SECRET = secret;
    try {
      parseConfig(env);
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.message;
    }
    assert.fail(`secret ${JSON.stringify(secret)} was accepted`);
  }

  const WEAK: [string, string][] = [
    ['31 bytes', 'Zq3v9Lw2Xe7Rt5Yu1Io8Pa4Sd6Fg0H'.padEnd(31, 'j')],
    ['16 characters', 'Zq3v9Lw2Xe7Rt5Yu'],
    ['the jwt.io placeholder', 'your-256-bit-secret-your-256-bit-secret'],
    ['a "change me" placeholder', 'CHANGE_ME_CHANGE_ME_in_production_42!'],
    ['"supersecret" with padding', 'SuperSecretKey-for-JWT-signing-2024-x9'],
    ['a tutorial .env value', 'my_jwt_secret_for_the_todo_app_Q7!xZ'],
    ['a repeated short chunk', 'Xy7#pQ2!Xy7#pQ2!Xy7#pQ2!Xy7#pQ2!Xy7#pQ2!'],
    ['one character repeated', 'a'.repeat(64)],
    ['two characters alternating', 'ab'.repeat(32)],
    ['few distinct characters in runs', 'aaaaaaaabbbbbbbbccccccccdddddddd'],
  ];

  for (const [label, secret] of WEAK) {
    test(`an HS256 secret that is ${label} is refused by parseConfig with one line naming TOLLGATE_JWT_SECRET`, () => {
      assert.ok(secret.length > 0);
      const message = configProblem(secret);
      assert.equal(message.split('\n').length, 1, message);
      assert.match(message, /^TOLLGATE_JWT_SECRET: /);
      assert.ok(!message.includes(secret), 'the message repeats the secret');
    });
  }

  test('HS256 without a secret is refused; a strong 32+ byte secret is accepted', () => {
    assert.match(configProblem(undefined), /^TOLLGATE_JWT_SECRET: /);
    assert.match(configProblem(''), /^TOLLGATE_JWT_SECRET: /);
    const config = parseConfig({ TOLLGATE_JWT_ALG: 'HS256', TOLLGATE_JWT_SECRET: 'Zq3v9Lw2Xe7Rt5Yu1Io8Pa4Sd6Fg0Hj3Kl5Zx7Cv9Bn' });
    assert.equal(config.jwtAlg, 'HS256');
  });
});

describe('what a dump of the store or the logs would give away', () => {
  async function fileBackedApp(t: TestContext) {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-dump-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 't.db');
    return { file, ...(await buildTestApp(t, { DATABASE_URL: `sqlite:${file}` })) };
  }

  test('the store holds no password, refresh token, refresh secret or access token: every row of every table, and the raw files', async (t) => {
    const { app, file } = await fileBackedApp(t);
    const secretPassword = 'a long and unusual passphrase 7Qx';
    assert.equal((await register(app, 'victim', secretPassword)).statusCode, 201);
    const first = await login(app, 'victim', secretPassword);
    const second = await login(app, 'victim', secretPassword);
    const rotatedRes = await refresh(app, first.refresh_token);
    assert.equal(rotatedRes.statusCode, 200);
    const rotated = rotatedRes.json() as Pair;
    const newPassword = 'another unusual passphrase 9Zk';
    const changed = await app.inject({ method: 'POST', url: '/auth/password', headers: authed(rotated.access_token), payload: { current_password: secretPassword, new_password: newPassword } });
    assert.equal(changed.statusCode, 204);

    const needles = new Map<string, Buffer>();
    const addText = (label: string, text: string) => needles.set(label, Buffer.from(text, 'utf8'));
    addText('the password', secretPassword);
    addText('the new password', newPassword);
    for (const [name, pair] of [['first', first], ['second', second], ['rotated', rotated]] as const) {
      const secret = pair.refresh_token.split('.')[3]!;
      const secretBytes = Buffer.from(secret, 'base64url');
      addText(`${name} refresh token`, pair.refresh_token);
      addText(`${name} refresh secret (base64url)`, secret);
      addText(`${name} refresh secret (base64)`, secretBytes.toString('base64'));
      addText(`${name} refresh secret (hex)`, secretBytes.toString('hex'));
      needles.set(`${name} refresh secret (raw bytes)`, secretBytes);
      addText(`${name} access token`, pair.access_token);
      addText(`${name} access token signature`, pair.access_token.split('.')[2]!);
    }

    // Every row of every table, read through a second connection.
    const db = new SQLite(file, { readonly: true });
    const dump: string[] = [];
    try {
      const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[];
      assert.ok(tables.some((r) => r.name === 'sessions') && tables.some((r) => r.name === 'users'));
      for (const { name } of tables) {
        for (const row of db.prepare(`select * from "${name.replace(/"/g, '""')}"`).all()) dump.push(`${name}: ${JSON.stringify(row)}`);
      }
    } finally {
      db.close();
    }
    const rows = dump.join('\n');
    // Controls: the scan does see the data — the username, and the SHA-256 of the current refresh secret.
    assert.ok(rows.includes('victim'), 'the dump should at least hold the username');
    const currentHash = createHash('sha256').update(Buffer.from(rotated.refresh_token.split('.')[3]!, 'base64url')).digest('base64url');
    assert.ok(rows.includes(currentHash), 'the refresh hash of the live session should be in the dump');
    for (const [label, needle] of needles) {
      if (label.endsWith('(raw bytes)')) continue;
      assert.ok(!rows.includes(needle.toString('utf8')), `${label} found in a table row`);
    }

    // The raw database files (main file and write-ahead log), free pages included.
    for (const path of [file, `${file}-wal`, `${file}-shm`].filter((p) => existsSync(p))) {
      const bytes = readFileSync(path);
      for (const [label, needle] of needles) assert.equal(bytes.indexOf(needle), -1, `${label} found in ${path}`);
    }
  });

  test('nothing secret reaches the logs, even at trace level', async (t) => {
    const lines: string[] = [];
    const config = parseConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'trace' });
    const stores = await openStores(config);
    const services = await createServices(config, stores, { clock: new TestClock(), hasher: new PasswordHasher(TEST_ARGON2) });
    const logger = { ...loggerOptions(config), level: 'trace', stream: { write: (line: string) => void lines.push(line) } };
    const app = await buildApp(services, { logger });
    t.after(async () => {
      await app.close();
      await stores.close();
    });

    const password = 'log-test passphrase Hq2';
    assert.equal((await register(app, 'victim', password)).statusCode, 201);
    const pair = await login(app, 'victim', password);
    await loginFrom(app, '192.0.2.1', 'victim', 'a wrong guess Lp0');
    const rotated = (await refresh(app, pair.refresh_token)).json() as Pair;
    await refresh(app, pair.refresh_token);
    await me(app, rotated.access_token);
    await me(app, `${rotated.access_token}x`);
    await app.inject({ method: 'POST', url: '/todos', headers: authed(rotated.access_token), payload: { title: 'x' } });
    await app.inject({ method: 'POST', url: '/auth/password', headers: authed(rotated.access_token), payload: { current_password: password, new_password: 'new log-test passphrase' } });
    await app.inject({ method: 'POST', url: `/auth/logout?token=${encodeURIComponent('x')}`, payload: { refresh_token: rotated.refresh_token } });

    const log = lines.join('');
    assert.ok(lines.length > 10, 'the logger captured nothing; the test would prove nothing');
    for (const [label, secret] of [
      ['password', password], ['wrong guess', 'a wrong guess Lp0'], ['new password', 'new log-test passphrase'],
      ['access token', pair.access_token], ['rotated access token', rotated.access_token],
      ['access token signature', rotated.access_token.split('.')[2]!],
      ['refresh token', pair.refresh_token], ['rotated refresh token', rotated.refresh_token],
      ['refresh secret', rotated.refresh_token.split('.')[3]!],
    ] as const) {
      assert.ok(!log.includes(secret), `${label} found in the logs`);
    }
  });
});

describe('headers that keep tokens private', () => {
  test('token responses and their errors carry Cache-Control: no-store', async (t) => {
    const { app } = await buildTestApp(t);
    const base = await listen(app);
    const post = (path: string, body: unknown): Promise<Response> =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const registered = await post('/auth/register', { username: 'victim', password: PASSWORD });
    const loginRes = await post('/auth/login', { username: 'victim', password: PASSWORD });
    const pair = (await loginRes.json()) as Pair;
    const responses = {
      register: registered,
      login: loginRes,
      refresh: await post('/auth/refresh', { refresh_token: pair.refresh_token }),
      'failed login': await post('/auth/login', { username: 'victim', password: 'nope nope nope' }),
      'failed refresh': await post('/auth/refresh', { refresh_token: 'garbage' }),
      me: await fetch(`${base}/auth/me`, { headers: authed(pair.access_token) }),
    };
    assert.deepEqual(Object.values(responses).map((res) => res.status), [201, 200, 200, 401, 401, 200]);
    for (const [name, res] of Object.entries(responses)) assert.equal(res.headers.get('cache-control'), 'no-store', name);
  });

  test('CORS is closed by default: no Access-Control-* headers for any origin, preflight or not', async (t) => {
    const { app } = await buildTestApp(t);
    const pair = await signUp(app, 'victim');
    const origin = 'https://evil.example';
    const requests = [
      app.inject({ method: 'OPTIONS', url: '/auth/login', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } }),
      app.inject({ method: 'OPTIONS', url: '/auth/me', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } }),
      app.inject({ method: 'POST', url: '/auth/login', headers: { origin }, payload: { username: 'victim', password: PASSWORD } }),
      app.inject({ method: 'GET', url: '/auth/me', headers: { origin, ...authed(pair.access_token) } }),
      app.inject({ method: 'GET', url: '/.well-known/jwks.json', headers: { origin: 'null' } }),
    ];
    for (const res of await Promise.all(requests)) {
      const cors = Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));
      assert.deepEqual(cors, [], `${res.statusCode} ${cors.join(', ')}`);
      assert.ok(res.statusCode !== 204 || res.headers['access-control-allow-origin'] === undefined);
    }
  });
});
