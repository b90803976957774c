import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authed, buildTestApp, errorCode, login, me, signUp } from '../helper.js';

describe('sessions', () => {
  test('each login is its own session, listed newest first with device details and the current one marked', async (t) => {
    const { app, clock } = await buildTestApp(t);
    const phone = await signUp(app, 'alice');
    clock.advance(1);
    const laptop = await login(app, 'alice', undefined, { 'user-agent': 'laptop-browser/1.0' });
    const res = await app.inject({ method: 'GET', url: '/auth/sessions', headers: authed(laptop.access_token) });
    assert.equal(res.statusCode, 200);
    const { sessions } = res.json();
    assert.deepEqual(sessions.map((s: { id: string }) => s.id), [laptop.session_id, phone.session_id]);
    assert.deepEqual(sessions.map((s: { current: boolean }) => s.current), [true, false]);
    assert.equal(sessions[0].user_agent, 'laptop-browser/1.0');
    assert.equal(sessions[0].ip, '127.0.0.1');
    assert.deepEqual(Object.keys(sessions[0]).sort(), ['created_at', 'current', 'expires_at', 'id', 'ip', 'last_used_at', 'user_agent']);
  });

  test('ending one session by id revokes exactly that session', async (t) => {
    const { app } = await buildTestApp(t);
    const a = await signUp(app, 'alice');
    const b = await login(app, 'alice');
    const res = await app.inject({ method: 'DELETE', url: `/auth/sessions/${b.session_id}`, headers: authed(a.access_token) });
    assert.equal(res.statusCode, 204);
    assert.equal(errorCode(await me(app, b.access_token)), 'token_revoked');
    assert.equal((await me(app, a.access_token)).statusCode, 200);
  });

  test("another user's session id is 404 like an unknown one, and stays alive", async (t) => {
    const { app } = await buildTestApp(t);
    const alice = await signUp(app, 'alice');
    const bob = await signUp(app, 'bob');
    const theirs = await app.inject({ method: 'DELETE', url: `/auth/sessions/${bob.session_id}`, headers: authed(alice.access_token) });
    const unknown = await app.inject({ method: 'DELETE', url: '/auth/sessions/AAAAAAAAAAAAAAAAAAAAAA', headers: authed(alice.access_token) });
    assert.equal(theirs.statusCode, 404);
    assert.equal(theirs.body, unknown.body);
    assert.equal((await me(app, bob.access_token)).statusCode, 200);
  });
});
