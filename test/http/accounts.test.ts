import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, authed, buildTestApp, errorCode, login, me, refresh, register, signUp } from '../helper.js';

describe('accounts', () => {
  test('register answers 201 with the user and nothing else', async (t) => {
    const { app } = await buildTestApp(t);
    const res = await register(app, 'alice');
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.deepEqual(Object.keys(body), ['user']);
    assert.deepEqual(Object.keys(body.user).sort(), ['created_at', 'id', 'username']);
    assert.equal(body.user.username, 'alice');
    assert.match(body.user.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('a taken username is 409 username_taken, compared case-insensitively after NFKC', async (t) => {
    const { app } = await buildTestApp(t);
    assert.equal((await register(app, 'Alice')).statusCode, 201);
    for (const name of ['alice', 'ALICE', 'Ａｌｉｃｅ']) {
      const res = await register(app, name);
      assert.equal(res.statusCode, 409, name);
      assert.equal(errorCode(res), 'username_taken');
    }
  });

  test('usernames outside 3–64 characters and passwords under 8 characters or over 1024 bytes are 400', async (t) => {
    const { app } = await buildTestApp(t);
    for (const [username, password] of [['ab', PASSWORD], ['x'.repeat(65), PASSWORD], ['bob', 'short'], ['bob', 'é'.repeat(513)], ['bo\u0000b', PASSWORD], [' bob', PASSWORD]]) {
      const res = await register(app, username!, password);
      assert.equal(res.statusCode, 400, `${JSON.stringify(username)} / ${password!.length}`);
      assert.equal(errorCode(res), 'invalid_request');
    }
  });

  test('a password from the common-password list is refused at registration', async (t) => {
    const { app } = await buildTestApp(t);
    const res = await register(app, 'carol', 'password123');
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /common/);
  });

  test('login returns a token pair with the contract fields', async (t) => {
    const { app } = await buildTestApp(t);
    await register(app, 'alice');
    const pair = await login(app, 'ALICE');
    assert.deepEqual(Object.keys(pair).sort(), ['access_token', 'expires_in', 'refresh_expires_in', 'refresh_token', 'session_id', 'token_type']);
    assert.equal(pair.token_type, 'Bearer');
    assert.equal(pair.expires_in, 900);
    assert.equal(pair.refresh_expires_in, 7 * 86400);
  });

  test('login and register accept HTML-form bodies', async (t) => {
    const { app } = await buildTestApp(t);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const body = `username=dora&password=${encodeURIComponent(PASSWORD)}`;
    assert.equal((await app.inject({ method: 'POST', url: '/auth/register', headers: form, payload: body })).statusCode, 201);
    const res = await app.inject({ method: 'POST', url: '/auth/login', headers: form, payload: body });
    assert.equal(res.statusCode, 200);
    assert.ok(res.json().access_token);
  });

  test('unknown user and wrong password get the same status and body', async (t) => {
    const { app } = await buildTestApp(t);
    await register(app, 'alice');
    const unknown = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'nobody', password: PASSWORD } });
    const wrong = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: 'wrong password!' } });
    assert.equal(unknown.statusCode, 401);
    assert.equal(wrong.statusCode, 401);
    assert.equal(unknown.body, wrong.body);
    assert.equal(errorCode(unknown), 'invalid_credentials');
  });

  test('GET /auth/me returns the user and the current session', async (t) => {
    const { app } = await buildTestApp(t);
    const pair = await signUp(app, 'alice');
    const res = await me(app, pair.access_token);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.user.username, 'alice');
    assert.equal(body.session.id, pair.session_id);
    assert.ok(Date.parse(body.session.expires_at) > Date.parse(body.session.created_at));
  });

  test('GET /auth/me shows the renewed expiry right after a refresh, for the old access token too', async (t) => {
    const { app, clock } = await buildTestApp(t);
    const pair = await signUp(app, 'alice');
    const before = (await me(app, pair.access_token)).json();
    clock.advance(1);
    const rotated = await refresh(app, pair.refresh_token);
    assert.equal(rotated.statusCode, 200);
    const expected = new Date(Date.parse(before.session.expires_at) + 1000).toISOString();
    // The same session: both tokens must see the record the rotation wrote, not a body made before it.
    for (const token of [pair.access_token, rotated.json().access_token]) {
      const body = (await me(app, token)).json();
      assert.equal(body.session.expires_at, expected);
      assert.deepEqual(body.user, before.user);
      assert.equal(body.session.created_at, before.session.created_at);
    }
  });

  test('changing the password ends every other session and keeps the current one', async (t) => {
    const { app } = await buildTestApp(t);
    const first = await signUp(app, 'alice');
    const second = await login(app, 'alice');
    const res = await app.inject({
      method: 'POST', url: '/auth/password', headers: authed(first.access_token),
      payload: { current_password: PASSWORD, new_password: 'a brand new passphrase' },
    });
    assert.equal(res.statusCode, 204);
    assert.equal((await me(app, first.access_token)).statusCode, 200);
    assert.equal(errorCode(await me(app, second.access_token)), 'token_revoked');
    const oldLogin = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } });
    assert.equal(oldLogin.statusCode, 401);
    await login(app, 'alice', 'a brand new passphrase');
  });

  test('a password change with the wrong current password is 401 invalid_credentials and changes nothing', async (t) => {
    const { app } = await buildTestApp(t);
    const first = await signUp(app, 'alice');
    const second = await login(app, 'alice');
    const res = await app.inject({
      method: 'POST', url: '/auth/password', headers: authed(first.access_token),
      payload: { current_password: 'not the password', new_password: 'a brand new passphrase' },
    });
    assert.equal(errorCode(res), 'invalid_credentials');
    assert.equal((await me(app, second.access_token)).statusCode, 200);
    await login(app, 'alice');
  });

  test('deleting the account ends all sessions at once and frees the username', async (t) => {
    const { app } = await buildTestApp(t);
    const first = await signUp(app, 'alice');
    const second = await login(app, 'alice');
    const wrong = await app.inject({ method: 'DELETE', url: '/auth/account', headers: authed(first.access_token), payload: { password: 'nope nope nope' } });
    assert.equal(errorCode(wrong), 'invalid_credentials');
    const res = await app.inject({ method: 'DELETE', url: '/auth/account', headers: authed(first.access_token), payload: { password: PASSWORD } });
    assert.equal(res.statusCode, 204);
    assert.equal(errorCode(await me(app, first.access_token)), 'token_revoked');
    assert.equal(errorCode(await me(app, second.access_token)), 'token_revoked');
    const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: second.refresh_token } });
    assert.equal(errorCode(refreshed), 'invalid_grant');
    assert.equal((await register(app, 'alice')).statusCode, 201);
  });

  test('a hash made with other argon2 parameters is re-made at the next login', async (t) => {
    const { app, stores, services } = await buildTestApp(t);
    await register(app, 'alice');
    const before = (await stores.accounts.findUserByName('alice'))!.passwordHash;
    const { PasswordHasher } = await import('../../src/core/passwords.js');
    const stronger = new PasswordHasher({ memoryCost: 2048, timeCost: 2, parallelism: 1 });
    assert.equal(stronger.needsRehash(before), true);
    const { Accounts } = await import('../../src/core/accounts.js');
    const accounts = new Accounts({ store: stores.accounts, sessions: stores.sessions, hasher: stronger, clock: services.clock });
    await accounts.authenticate('alice', PASSWORD);
    const after = (await stores.accounts.findUserByName('alice'))!.passwordHash;
    assert.notEqual(after, before);
    assert.match(after, /^\$argon2id\$v=19\$m=2048,p=1,t=2\$/);
    assert.equal(stronger.needsRehash(after), false);
  });
});
