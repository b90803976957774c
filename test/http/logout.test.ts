import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authed, buildTestApp, errorCode, login, me, refresh, signUp } from '../helper.js';

describe('logout', () => {
  test('local logout revokes the access token on the very next request and kills the refresh token', async (t) => {
    const { app } = await buildTestApp(t);
    const pair = await signUp(app, 'alice');
    const other = await login(app, 'alice');
    const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: authed(pair.access_token), payload: {} });
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    const after = await me(app, pair.access_token);
    assert.equal(after.statusCode, 401);
    assert.equal(errorCode(after), 'token_revoked');
    assert.match(String(after.headers['www-authenticate']), /^Bearer realm="tollgate", error="invalid_token"/);
    assert.equal(errorCode(await refresh(app, pair.refresh_token)), 'invalid_grant');
    assert.equal((await me(app, other.access_token)).statusCode, 200);
  });

  test('scope "others" ends every other session of the user and keeps this one', async (t) => {
    const { app } = await buildTestApp(t);
    const a = await signUp(app, 'alice');
    const b = await login(app, 'alice');
    const bob = await signUp(app, 'bob');
    await app.inject({ method: 'POST', url: '/auth/logout', headers: authed(a.access_token), payload: { scope: 'others' } });
    assert.equal((await me(app, a.access_token)).statusCode, 200);
    assert.equal(errorCode(await me(app, b.access_token)), 'token_revoked');
    assert.equal((await me(app, bob.access_token)).statusCode, 200);
  });

  test('scope "global" ends all of the user\'s sessions', async (t) => {
    const { app } = await buildTestApp(t);
    const a = await signUp(app, 'alice');
    const b = await login(app, 'alice');
    await app.inject({ method: 'POST', url: '/auth/logout', headers: authed(a.access_token), payload: { scope: 'global' } });
    assert.equal(errorCode(await me(app, a.access_token)), 'token_revoked');
    assert.equal(errorCode(await me(app, b.access_token)), 'token_revoked');
  });

  test('logout with only the refresh token works after the access token has expired', async (t) => {
    const { app, clock } = await buildTestApp(t, { TOLLGATE_ACCESS_TTL: '1m' });
    const pair = await signUp(app, 'alice');
    clock.advance(120);
    assert.equal(errorCode(await me(app, pair.access_token)), 'token_expired');
    const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: authed(pair.access_token), payload: { refresh_token: pair.refresh_token } });
    assert.equal(res.statusCode, 204);
    assert.equal(errorCode(await refresh(app, pair.refresh_token)), 'invalid_grant');
  });

  test('logout with nothing is 401 missing_token; with a bad refresh token 401 invalid_grant', async (t) => {
    const { app } = await buildTestApp(t);
    const none = await app.inject({ method: 'POST', url: '/auth/logout', payload: {} });
    assert.equal(errorCode(none), 'missing_token');
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="tollgate"');
    const bad = await app.inject({ method: 'POST', url: '/auth/logout', payload: { refresh_token: 'tgr.nope' } });
    assert.equal(errorCode(bad), 'invalid_grant');
  });
});
