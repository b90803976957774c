import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, authed, buildTestApp, errorCode, listen, signUp } from '../helper.js';

describe('bad input gets the contract error and changes nothing', () => {
  test('malformed JSON is 400 invalid_request', async (t) => {
    const { app } = await buildTestApp(t);
    for (const payload of ['{"username": "alice", ', '', 'null', '[]', '"alice"']) {
      const res = await app.inject({ method: 'POST', url: '/auth/register', headers: { 'content-type': 'application/json' }, payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(errorCode(res), 'invalid_request');
    }
  });

  test('wrong types and unknown fields are 400 and create nothing', async (t) => {
    const { app, stores } = await buildTestApp(t);
    for (const payload of [{ username: 123, password: 'long enough pw' }, { username: 'alice', password: ['x'] }, { username: 'alice', password: 'long enough pw', admin: true }]) {
      const res = await app.inject({ method: 'POST', url: '/auth/register', payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(errorCode(res), 'invalid_request');
    }
    assert.equal(await stores.accounts.findUserByName('alice'), null);
  });

  test('a body over the limit is 413 payload_too_large', async (t) => {
    const { app } = await buildTestApp(t, { TOLLGATE_BODY_LIMIT: '2048' });
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: 'x'.repeat(4000) } });
    assert.equal(res.statusCode, 413);
    assert.equal(errorCode(res), 'payload_too_large');
  });

  test('a body in a content type the route does not take is 415 — forms only on login and register', async (t) => {
    const { app } = await buildTestApp(t);
    const pair = await signUp(app, 'alice');
    const cases = [
      { url: '/auth/login', type: 'text/plain', payload: 'username=alice' },
      { url: '/auth/login', type: 'application/xml', payload: '<a/>' },
      { url: '/auth/refresh', type: 'application/x-www-form-urlencoded', payload: `refresh_token=${pair.refresh_token}` },
    ];
    for (const c of cases) {
      const res = await app.inject({ method: 'POST', url: c.url, headers: { 'content-type': c.type }, payload: c.payload });
      assert.equal(res.statusCode, 415, `${c.url} ${c.type}`);
      assert.equal(errorCode(res), 'unsupported_media_type');
    }
    // The refresh token was not consumed by the refused request.
    const ok = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: pair.refresh_token } });
    assert.equal(ok.statusCode, 200);
  });

  test('empty and garbage Authorization headers get missing_token or invalid_token, never 500', async (t) => {
    const { app } = await buildTestApp(t);
    const cases: Array<[string, string]> = [
      ['', 'missing_token'], ['Bearer', 'missing_token'], ['Bearer ', 'missing_token'], ['Basic YWxpY2U6cHc=', 'missing_token'],
      ['Bearer garbage', 'invalid_token'], ['Bearer a.b.c', 'invalid_token'], ['Bearer ....', 'invalid_token'],
      ['Bearer eyJhbGciOiJub25lIn0.e30.', 'invalid_token'], [`Bearer ${'A'.repeat(9000)}`, 'invalid_token'],
      ['Bearer a.b.c.d.e', 'invalid_token'], ['Bearer %00%ff', 'invalid_token'],
    ];
    for (const [header, code] of cases) {
      const res = await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: header } });
      assert.equal(res.statusCode, 401, header.slice(0, 40));
      assert.equal(errorCode(res), code, header.slice(0, 40));
      assert.match(String(res.headers['www-authenticate']), /^Bearer realm="tollgate"/);
    }
  });

  test('unknown routes are 404 not_found in the error shape', async (t) => {
    const { app } = await buildTestApp(t);
    const res = await app.inject({ method: 'GET', url: '/nope' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(Object.keys(res.json()).sort(), ['error', 'message']);
  });

  test('responses are never cached and carry API security headers', async (t) => {
    const { app } = await buildTestApp(t);
    const base = await listen(app);
    const res = await fetch(`${base}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: PASSWORD }) });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  test('CORS answers only configured origins', async (t) => {
    const { app } = await buildTestApp(t, { TOLLGATE_CORS_ORIGINS: 'https://app.example' });
    const allowed = await app.inject({ method: 'OPTIONS', url: '/auth/login', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example');
    const other = await app.inject({ method: 'OPTIONS', url: '/auth/login', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  test('a todo id that is not ours in any shape is 404, and path junk is never a 500', async (t) => {
    const { app } = await buildTestApp(t);
    const headers = authed((await signUp(app, 'alice')).access_token);
    for (const id of ["' OR 1=1 --", '..%2F..%2Fetc', '%00', 'x'.repeat(64)]) {
      const res = await app.inject({ method: 'GET', url: `/todos/${id}`, headers });
      assert.equal(res.statusCode, 404, id);
    }
  });
});
