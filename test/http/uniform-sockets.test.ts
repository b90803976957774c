import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { buildTestApp, listen } from '../helper.js';
import { hiddenClassesApartFromFirst } from '../support/hidden-class.js';

/** One request on a keep-alive connection of its own; the connection stays open until `agent` is destroyed. */
function send(base: string, agent: Agent, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, agent, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('sockets share one hidden class whether or not their route read the client address', async (t) => {
  const { app } = await buildTestApp(t);
  const sockets: Socket[] = [];
  app.server.on('connection', (socket: Socket) => sockets.push(socket));
  const base = await listen(app);
  const agents = [new Agent({ keepAlive: true }), new Agent({ keepAlive: true }), new Agent({ keepAlive: true })];
  t.after(() => agents.forEach((a) => a.destroy()));

  // Login reads request.ip for its rate limit; /auth/me and /healthz never do.
  assert.equal(await send(base, agents[0]!, 'POST', '/auth/login', JSON.stringify({ username: 'nobody', password: 'not the password at all' })), 401);
  assert.equal(await send(base, agents[1]!, 'GET', '/auth/me'), 401);
  assert.equal(await send(base, agents[2]!, 'GET', '/healthz'), 200);

  assert.equal(sockets.length, 3, 'three connections');
  assert.equal(hiddenClassesApartFromFirst(sockets), 0);
});
