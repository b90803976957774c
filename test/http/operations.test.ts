import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { buildTestApp } from '../helper.js';

describe('keys and operations', () => {
  test('the JWKS publishes the public signing key with kid, alg and use, cacheably, and nothing private', async (t) => {
    const { app } = await buildTestApp(t);
    const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['cache-control']), /max-age=\d+/);
    const { keys } = res.json();
    assert.equal(keys.length, 1);
    assert.equal(keys[0].alg, 'ES256');
    assert.equal(keys[0].use, 'sig');
    assert.equal(keys[0].kty, 'EC');
    assert.equal(keys[0].d, undefined);
  });

  test('HS256 publishes no key at all', async (t) => {
    const { app } = await buildTestApp(t, { TOLLGATE_JWT_ALG: 'HS256', TOLLGATE_JWT_SECRET: 'Zq3v9Lw2Xe7Rt5Yu1Io8Pa4Sd6Fg0Hj3Kl5Zx7Cv9Bn' });
    assert.deepEqual((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json(), { keys: [] });
  });

  test('/healthz and /readyz answer 200 when the store answers', async (t) => {
    const { app } = await buildTestApp(t);
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json().stores, { sqlite: 'ok' });
  });

  test('/readyz is 503 naming the store when it is down, and requests needing it get 503 unavailable', async (t) => {
    const { app, stores } = await buildTestApp(t);
    await stores.close();
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.json().error, 'unavailable');
    assert.equal(ready.json().stores.sqlite, 'down');
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: 'whatever pw' } });
    assert.equal(login.statusCode, 503);
    assert.deepEqual(Object.keys(login.json()).sort(), ['error', 'message']);
    assert.doesNotMatch(login.body, /sqlite|database|connection/i);
  });

  const contractFile = new URL('../../../shared/design/api.md', import.meta.url);
  const noContract = existsSync(contractFile) ? false : 'the contract ../shared/design/api.md is not beside this checkout';
  test('the OpenAPI document at /docs/json lists every contract path', { skip: noContract }, async (t) => {
    const { app } = await buildTestApp(t);
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    const contract = readFileSync(contractFile, 'utf8');
    const paths = [...contract.matchAll(/`(GET|POST|PATCH|DELETE) (\/[^`\s]*)`/g)].map(([, method, path]) => [method!.toLowerCase(), path!.replace(/:(\w+)/g, '{$1}')] as const);
    assert.ok(paths.length >= 15);
    for (const [method, path] of paths) {
      if (path === '/docs' || path === '/docs/json') continue;
      assert.ok(doc.paths[path]?.[method], `${method} ${path} missing from OpenAPI`);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/docs' })).statusCode < 400, true);
  });
});
