import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/errors.js';
import { AccessTokens, type AccessClaims } from '../../src/core/access-tokens.js';
import { authed, buildTestApp, signUp } from '../helper.js';
import { hiddenClassesApartFromFirst } from '../support/hidden-class.js';

const code = (expected: string) => (error: unknown): boolean => error instanceof AppError && error.code === expected;

test('authenticate answers without a promise once the token and its session are cached', async (t) => {
  const { app, services } = await buildTestApp(t);
  const pair = await signUp(app, 'alice');
  const first = await services.sessions.authenticate(pair.access_token);
  const again = services.sessions.authenticate(pair.access_token);
  assert.equal(again instanceof Promise, false, 'the cached path makes no promise');
  assert.deepEqual(again, first);
  assert.equal(first.sid, pair.session_id);
});

test('the synchronous path still sees a logout at once', async (t) => {
  const { app, services } = await buildTestApp(t);
  const pair = await signUp(app, 'alice');
  await services.sessions.authenticate(pair.access_token);
  assert.equal(services.sessions.authenticate(pair.access_token) instanceof Promise, false, 'cached before the logout');
  const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: authed(pair.access_token), payload: {} });
  assert.equal(res.statusCode, 204);
  await assert.rejects(async () => services.sessions.authenticate(pair.access_token), code('token_revoked'));
});

test('a cached token is still refused once it expires', async (t) => {
  const { app, services, clock } = await buildTestApp(t);
  const pair = await signUp(app, 'alice');
  await services.sessions.authenticate(pair.access_token);
  clock.advance(pair.expires_in + 60);
  assert.throws(() => services.sessions.authenticate(pair.access_token), code('token_expired'));
});

test('cached tokens share one hidden class, so the code that reads them stays monomorphic', async (t) => {
  const { app, services } = await buildTestApp(t);
  const pair = await signUp(app, 'alice');
  const tokens = new AccessTokens(services.keys, { ...services.config, signOnEventLoop: true }, services.clock);
  const sub = (await services.sessions.authenticate(pair.access_token)).sub;
  const issued = await Promise.all(Array.from({ length: 50 }, () => tokens.issue({ userId: sub, sessionId: pair.session_id })));
  for (const { token } of issued) tokens.verify(token); // a miss: verified, then cached
  const cached = issued.map(({ token }) => tokens.verify(token) as AccessClaims);
  assert.deepEqual(new Set(cached.map((c) => c.jti)).size, 50, 'fifty distinct tokens');
  assert.equal(hiddenClassesApartFromFirst(cached), 0);
});
