import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authed, buildTestApp, errorCode, signUp } from '../helper.js';

describe('todos', () => {
  test('create, read, update, list newest first and delete your own todos', async (t) => {
    const { app, clock } = await buildTestApp(t);
    const { access_token: token } = await signUp(app, 'alice');
    const headers = authed(token);
    const created = await app.inject({ method: 'POST', url: '/todos', headers, payload: { title: 'buy milk' } });
    assert.equal(created.statusCode, 201);
    const todo = created.json();
    assert.deepEqual(Object.keys(todo).sort(), ['created_at', 'done', 'id', 'title', 'updated_at']);
    assert.equal(todo.done, false);
    const second = (await app.inject({ method: 'POST', url: '/todos', headers, payload: { title: 'walk dog' } })).json();

    clock.advance(60);
    const patched = await app.inject({ method: 'PATCH', url: `/todos/${todo.id}`, headers, payload: { done: true } });
    assert.equal(patched.statusCode, 200);
    assert.equal(patched.json().done, true);
    assert.equal(patched.json().title, 'buy milk');
    assert.ok(Date.parse(patched.json().updated_at) > Date.parse(todo.updated_at));

    const list = (await app.inject({ method: 'GET', url: '/todos', headers })).json();
    assert.deepEqual(list.todos.map((x: { id: string }) => x.id), [second.id, todo.id]);
    assert.equal((await app.inject({ method: 'GET', url: `/todos/${todo.id}`, headers })).json().title, 'buy milk');
    assert.equal((await app.inject({ method: 'DELETE', url: `/todos/${todo.id}`, headers })).statusCode, 204);
    assert.equal((await app.inject({ method: 'GET', url: `/todos/${todo.id}`, headers })).statusCode, 404);
  });

  test("another user's todo is 404 for read, update and delete, and is left untouched", async (t) => {
    const { app } = await buildTestApp(t);
    const alice = authed((await signUp(app, 'alice')).access_token);
    const bob = authed((await signUp(app, 'bob')).access_token);
    const todo = (await app.inject({ method: 'POST', url: '/todos', headers: alice, payload: { title: 'private' } })).json();
    for (const [method, payload] of [['GET', undefined], ['PATCH', { title: 'mine now' }], ['DELETE', undefined]] as const) {
      const res = await app.inject({ method, url: `/todos/${todo.id}`, headers: bob, ...(payload && { payload }) });
      assert.equal(res.statusCode, 404, method);
      assert.equal(errorCode(res), 'not_found');
    }
    assert.equal((await app.inject({ method: 'GET', url: '/todos', headers: bob })).json().todos.length, 0);
    assert.equal((await app.inject({ method: 'GET', url: `/todos/${todo.id}`, headers: alice })).json().title, 'private');
  });

  test('titles must be 1–500 characters and bodies carry no unknown fields', async (t) => {
    const { app } = await buildTestApp(t);
    const headers = authed((await signUp(app, 'alice')).access_token);
    for (const payload of [{ title: '' }, { title: 'x'.repeat(501) }, { title: 5 }, { title: 'ok', owner: 'bob' }, {}]) {
      const res = await app.inject({ method: 'POST', url: '/todos', headers, payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(errorCode(res), 'invalid_request');
    }
    assert.equal((await app.inject({ method: 'POST', url: '/todos', headers, payload: { title: '😀'.repeat(500) } })).statusCode, 201);
    assert.equal((await app.inject({ method: 'GET', url: '/todos', headers })).json().todos.length, 1);
  });

  test('todo routes need an access token', async (t) => {
    const { app } = await buildTestApp(t);
    const res = await app.inject({ method: 'GET', url: '/todos' });
    assert.equal(res.statusCode, 401);
    assert.equal(errorCode(res), 'missing_token');
  });
});
