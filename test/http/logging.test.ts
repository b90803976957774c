import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { PasswordHasher } from '../../src/core/passwords.js';
import { loggerOptions } from '../../src/server.js';
import { createServices } from '../../src/services.js';
import { openStores } from '../../src/store/open.js';
import { PASSWORD, TEST_ARGON2, TestClock, authed, buildLoggingTestApp } from '../helper.js';

test('request logs at trace level never contain passwords, tokens or password hashes', async (t) => {
  const config = parseConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'trace' });
  const stores = await openStores(config);
  const services = await createServices(config, stores, { clock: new TestClock(), hasher: new PasswordHasher(TEST_ARGON2) });
  let logged = '';
  const stream = new Writable({ write(chunk, _encoding, done) { logged += String(chunk); done(); } });
  const app = await buildApp(services, { logger: { ...loggerOptions(config), stream } });
  t.after(async () => { await app.close(); await stores.close(); });

  await app.inject({ method: 'POST', url: '/auth/register', payload: { username: 'alice', password: PASSWORD } });
  const pair = (await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } })).json();
  await app.inject({ method: 'GET', url: '/auth/me', headers: authed(pair.access_token, { cookie: `session=${pair.refresh_token}` }) });
  const refreshed = (await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: pair.refresh_token } })).json();
  await app.inject({ method: 'POST', url: '/auth/password', headers: authed(refreshed.access_token), payload: { current_password: PASSWORD, new_password: 'another long passphrase' } });
  await app.inject({ method: 'GET', url: '/auth/me', headers: authed('garbage.token.here') });

  assert.ok(logged.includes('request completed'), 'request logging is on, so the test can see what it logs');
  const hash = (await stores.accounts.findUserByName('alice'))!.passwordHash;
  for (const secret of [PASSWORD, 'another long passphrase', pair.access_token, pair.refresh_token, refreshed.access_token, refreshed.refresh_token, hash, 'garbage.token.here']) {
    assert.equal(logged.includes(secret), false, `log contains ${secret.slice(0, 12)}…`);
  }
  assert.equal(logged.includes(pair.refresh_token.split('.')[3]!), false, 'log contains a refresh secret');
});


test('below info no request lines are written, and a line a request does write still carries its request id', async (t) => {
  const { app, stores, lines } = await buildLoggingTestApp(t, 'warn');
  assert.equal((await app.inject({ method: 'GET', url: '/auth/me', headers: authed('garbage.token.here') })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  assert.equal(lines.length, 0, 'nothing is written for ordinary requests at warn');

  await stores.close(); // the database goes away: the next login is a 503 and a warn line
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } });
  assert.equal(res.statusCode, 503);
  const warned = lines.filter((l) => l.msg === 'store unavailable');
  assert.equal(warned.length, 1);
  assert.equal(typeof warned[0]!.reqId, 'string');
  assert.ok((warned[0]!.reqId as string).length > 0);
});

test('at info every request is logged as it comes and as it completes, under one request id', async (t) => {
  const { app, lines } = await buildLoggingTestApp(t, 'info');
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  const incoming = lines.find((l) => l.msg === 'incoming request');
  const completed = lines.find((l) => l.msg === 'request completed');
  assert.ok(incoming && completed);
  assert.equal(incoming.reqId, completed.reqId);
});

test('request ids differ between requests and between server processes', async (t) => {
  const first = await buildLoggingTestApp(t, 'info');
  const second = await buildLoggingTestApp(t, 'info');
  for (const { app } of [first, second]) {
    for (let i = 0; i < 3; i++) assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  }
  const ids = [...first.lines, ...second.lines].filter((l) => l.msg === 'incoming request').map((l) => l.reqId);
  assert.equal(ids.length, 6);
  assert.equal(new Set(ids).size, 6, `request ids repeat: ${ids.join(', ')}`);
});

test('at LOG_LEVEL=error the warn line of a store outage is not written', async (t) => {
  const { app, stores, lines } = await buildLoggingTestApp(t, 'error');
  await stores.close();
  assert.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } })).statusCode, 503);
  assert.equal(lines.length, 0, 'a warn line was written at LOG_LEVEL=error');
});
