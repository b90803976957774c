/**
 * A credential request whose client closes its connection while it waits for a password hash is
 * never hashed: under a flood of clients that give up, the hashing threads go to requests that
 * can still be answered. Over real sockets (app.inject has no connection to close).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import argon2 from 'argon2';
import { PASSWORD, buildLoggingTestApp, listen, register, until } from '../helper.js';

/** Replaces argon2.verify (the module object the hasher calls through) for this test. */
function spyOnVerify(t: TestContext, first: Promise<void>): string[] {
  const original = argon2.verify;
  const passwords: string[] = [];
  argon2.verify = (async (hash: string, password: string | Buffer, ...rest: unknown[]) => {
    passwords.push(String(password));
    if (passwords.length === 1) await first; // holds the only hashing slot until the test lets go
    return (original as (...args: unknown[]) => Promise<boolean>)(hash, password, ...rest);
  }) as typeof argon2.verify;
  t.after(() => { argon2.verify = original; });
  return passwords;
}

test('a login whose client leaves while it waits for the hashing slot is never hashed, and the logins around it are answered', async (t) => {
  const { app, services, lines } = await buildLoggingTestApp(t, 'info');
  assert.equal((await register(app, 'alice')).statusCode, 201);
  const base = await listen(app);
  const { port } = new URL(base);

  // Count the logins that got past the user lookup, which is the last step before the hash queue.
  const accounts = services.stores.accounts;
  const findUserByName = accounts.findUserByName.bind(accounts);
  let looked = 0;
  accounts.findUserByName = async (key) => {
    const user = await findUserByName(key);
    looked++;
    return user;
  };
  let release!: () => void;
  const passwords = spyOnVerify(t, new Promise<void>((resolve) => { release = resolve; }));
  const login = (password: string) => JSON.stringify({ username: 'alice', password });

  const first = fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: login('first wrong password') });
  await until('the first login to hold the slot', () => passwords.length === 1);

  const leaving = httpRequest({ host: '127.0.0.1', port, path: '/auth/login', method: 'POST', headers: { 'content-type': 'application/json' } });
  leaving.on('error', () => undefined); // the socket hang-up we cause below
  leaving.end(login('leaving wrong password'));
  await until('the leaving login to queue', () => looked === 2);

  const last = fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: login(PASSWORD) });
  await until('the last login to queue', () => looked === 3);

  leaving.destroy();
  const connections = (): Promise<number> => new Promise((resolve, reject) => app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
  await until('the server to see the connection close', async () => (await connections()) === 2);
  await new Promise((resolve) => setImmediate(resolve));

  release();
  assert.equal((await first).status, 401);
  const answered = await last;
  assert.equal(answered.status, 200);
  assert.ok((await answered.json() as { access_token?: string }).access_token);
  assert.deepEqual(passwords, ['first wrong password', PASSWORD]);

  // The request that left is logged as such at info, not as an error.
  assert.equal(lines.filter((l) => l.msg === 'client closed the connection; its password hash was not started').length, 1);
  assert.deepEqual(lines.filter((l) => (l.level as number) >= 40), []);
});
