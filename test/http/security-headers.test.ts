import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { SecureResponse } from '../../src/http/plugins/security-headers.js';
import { buildTestApp, listen } from '../helper.js';

const API = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
};

function assertApiHeaders(res: Response, label: string): void {
  for (const [name, value] of Object.entries(API)) assert.equal(res.headers.get(name), value, `${label}: ${name}`);
  assert.equal(res.headers.get('referrer-policy'), null, `${label}: referrer-policy is for HTML pages`);
}

/** A bare Node server with our response class, for the paths Fastify does not take. */
async function serveRaw(t: TestContext, handler: RequestListener): Promise<string> {
  const server = createServer({ ServerResponse: SecureResponse }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('security headers', () => {
  test('successes, errors and unknown routes all carry the API headers', async (t) => {
    const { app } = await buildTestApp(t);
    const base = await listen(app);
    const responses = {
      healthz: await fetch(`${base}/healthz`),
      'unknown route': await fetch(`${base}/nope`),
      'no token': await fetch(`${base}/auth/me`),
      'text body': await fetch(`${base}/auth/refresh`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }),
      'malformed JSON': await fetch(`${base}/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }),
    };
    assert.deepEqual(Object.values(responses).map((res) => res.status), [200, 404, 401, 415, 400]);
    for (const [label, res] of Object.entries(responses)) assertApiHeaders(res, label);
  });

  test("a route's own cache-control is kept: the JWKS stays cacheable", async (t) => {
    const { app } = await buildTestApp(t);
    const res = await fetch(`${await listen(app)}/.well-known/jwks.json`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('cache-control')), /^public, max-age=\d+$/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  test('the docs page keeps its own scripts (no CSP of ours) and gets the browser headers', async (t) => {
    const { app } = await buildTestApp(t);
    const res = await fetch(`${await listen(app)}/docs`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /^text\/html/);
    assert.equal(res.headers.get('content-security-policy'), null);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  test('a response whose head Node writes implicitly gets the headers too, and keeps a cache-control set with setHeader', async (t) => {
    const base = await serveRaw(t, (req, res) => {
      if (req.url === '/cacheable') res.setHeader('Cache-Control', 'max-age=60');
      res.setHeader('content-type', 'text/plain');
      res.end('ok');
    });
    assertApiHeaders(await fetch(`${base}/plain`), 'implicit head');
    const cacheable = await fetch(`${base}/cacheable`);
    assert.equal(cacheable.headers.get('cache-control'), 'max-age=60');
    assert.equal(cacheable.headers.get('x-frame-options'), 'DENY');
  });

  test('writeHead with a status message and a header object', async (t) => {
    const base = await serveRaw(t, (_req, res) => {
      res.writeHead(202, 'Taken', { 'content-type': 'text/plain', 'x-frame-options': 'SAMEORIGIN' });
      res.end('ok');
    });
    const res = await fetch(base);
    assert.equal(res.status, 202);
    assert.equal(res.statusText, 'Taken');
    assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN', 'what the caller set wins');
    assert.equal(res.headers.get('content-security-policy'), API['content-security-policy']);
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  test("a Fastify route's own header replaces that default alone, set either way, and is never sent twice", async (t) => {
    const app = Fastify({ http: { ServerResponse: SecureResponse } });
    t.after(() => app.close());
    app.get('/framed', async (_request, reply) => reply.header('x-frame-options', 'SAMEORIGIN').send({ ok: true }));
    app.get('/raw', async (_request, reply) => {
      reply.raw.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
      return { ok: true };
    });
    app.get('/plain', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    // fetch joins repeated headers with ", ", so a default sent next to the route's own would show.
    const expected = {
      framed: { ...API, 'x-frame-options': 'SAMEORIGIN' },
      raw: { ...API, 'cross-origin-resource-policy': 'cross-origin' },
    };
    for (const [path, headers] of Object.entries(expected)) {
      const res = await fetch(`${base}/${path}`);
      for (const [name, value] of Object.entries(headers)) assert.equal(res.headers.get(name), value, `${path}: ${name}`);
    }
    assertApiHeaders(await fetch(`${base}/plain`), 'plain route');
  });
});
