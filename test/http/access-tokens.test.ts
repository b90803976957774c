import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authed, buildTestApp, errorCode, me, signUp } from '../helper.js';

function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

describe('access tokens', () => {
  test('carry typ at+jwt, kid and the iss, aud, sub, sid, jti, iat, exp claims', async (t) => {
    const { app } = await buildTestApp(t, { TOLLGATE_ISSUER: 'https://auth.test', TOLLGATE_AUDIENCE: 'todo-api' });
    const pair = await signUp(app, 'alice');
    const { header, payload } = decode(pair.access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'ES256');
    assert.equal(typeof header.kid, 'string');
    assert.deepEqual(Object.keys(payload).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub']);
    assert.equal(payload.iss, 'https://auth.test');
    assert.equal(payload.aud, 'todo-api');
    assert.equal(payload.sid, pair.session_id);
    assert.equal((payload.exp as number) - (payload.iat as number), 900);
  });

  for (const alg of ['ES256', 'EdDSA', 'RS256', 'HS256']) {
    test(`${alg} tokens are issued and accepted when ${alg} is configured`, async (t) => {
      const env: Record<string, string> = { TOLLGATE_JWT_ALG: alg };
      if (alg === 'HS256') env.TOLLGATE_JWT_SECRET = 'Zq3v9Lw2Xe7Rt5Yu1Io8Pa4Sd6Fg0Hj3Kl5Zx7Cv9Bn';
      const { app } = await buildTestApp(t, env);
      const pair = await signUp(app, 'alice');
      assert.equal(decode(pair.access_token).header.alg, alg);
      assert.equal((await me(app, pair.access_token)).statusCode, 200);
    });
  }

  test('an access token past exp is token_expired, within the clock leeway it still works', async (t) => {
    const { app, clock } = await buildTestApp(t, { TOLLGATE_ACCESS_TTL: '60s', TOLLGATE_CLOCK_LEEWAY: '5s' });
    const pair = await signUp(app, 'alice');
    clock.advance(63);
    assert.equal((await me(app, pair.access_token)).statusCode, 200);
    clock.advance(3);
    const res = await me(app, pair.access_token);
    assert.equal(errorCode(res), 'token_expired');
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
  });

  test('a refresh token is never accepted as an access token', async (t) => {
    const { app } = await buildTestApp(t);
    const pair = await signUp(app, 'alice');
    assert.equal(errorCode(await me(app, pair.refresh_token)), 'invalid_token');
  });

  test('a token signed for another audience or issuer is invalid_token', async (t) => {
    const { app, services } = await buildTestApp(t, { TOLLGATE_AUDIENCE: 'todo-api' });
    const pair = await signUp(app, 'alice');
    const { AccessTokens } = await import('../../src/core/access-tokens.js');
    for (const options of [{ audience: 'other-api' }, { issuer: 'https://elsewhere' }]) {
      const foreign = new AccessTokens(services.keys, { ...services.config, signOnEventLoop: false, ...options }, services.clock);
      const token = (await foreign.issue({ userId: decode(pair.access_token).payload.sub as string, sessionId: pair.session_id })).token;
      assert.equal(errorCode(await app.inject({ method: 'GET', url: '/auth/me', headers: authed(token) })), 'invalid_token');
    }
  });

  test('signatures move onto the event loop only once every core has a worker process', async () => {
    const { signsOnEventLoop } = await import('../../src/core/access-tokens.js');
    assert.equal(signsOnEventLoop(1, 2), false);
    assert.equal(signsOnEventLoop(2, 8), false);
    assert.equal(signsOnEventLoop(2, 2), true);
    assert.equal(signsOnEventLoop(3, 2), true);
    assert.equal(signsOnEventLoop(1, 1), true);
  });

  for (const alg of ['ES256', 'EdDSA', 'RS256']) {
    test(`${alg}: a token signed on the event loop needs no turn of it, one signed on the pool does; both are accepted`, async (t) => {
      const { app, services } = await buildTestApp(t, { TOLLGATE_JWT_ALG: alg });
      const pair = await signUp(app, 'alice');
      const subject = { userId: decode(pair.access_token).payload.sub as string, sessionId: pair.session_id };
      const { AccessTokens } = await import('../../src/core/access-tokens.js');
      for (const signOnEventLoop of [true, false]) {
        const tokens = new AccessTokens(services.keys, { ...services.config, signOnEventLoop }, services.clock);
        await tokens.issue(subject); // the key ring is loaded: what is left is the signature
        let token: string | undefined;
        const issued = tokens.issue(subject).then((result) => { token = result.token; });
        // process.nextTick callbacks and promise jobs run before the event loop polls for I/O, so
        // a pool result (delivered by that poll) cannot have arrived after these.
        for (let i = 0; i < 20; i++) await new Promise((resolve) => process.nextTick(resolve));
        assert.equal(token !== undefined, signOnEventLoop, `signOnEventLoop ${signOnEventLoop}`);
        await issued;
        assert.equal((await me(app, token!)).statusCode, 200, `signOnEventLoop ${signOnEventLoop}`);
      }
    });
  }

  test('tokens stay valid across a restart on the same database (keys are kept in the store)', async (t) => {
    const { app, services, stores } = await buildTestApp(t);
    const pair = await signUp(app, 'alice');
    const { createServices } = await import('../../src/services.js');
    const { buildApp } = await import('../../src/app.js');
    const restarted = await buildApp(await createServices(services.config, stores, { clock: services.clock }));
    t.after(() => restarted.close());
    assert.equal((await me(restarted, pair.access_token)).statusCode, 200);
  });

  test('a forged token that ends like a cached one is verified in full and refused', async (t) => {
    const { app } = await buildTestApp(t);
    const pair = await signUp(app, 'alice');
    const bob = await signUp(app, 'bob');
    assert.equal((await me(app, pair.access_token)).statusCode, 200); // now in the verified-token cache
    // Bob's claims under Alice's signature: the same last characters, so the same cache slot.
    const [, , signature] = pair.access_token.split('.');
    const [header, payload] = bob.access_token.split('.');
    const forged = `${header}.${payload}.${signature}`;
    assert.equal(errorCode(await me(app, forged)), 'invalid_token');
    assert.equal((await me(app, pair.access_token)).statusCode, 200);
    assert.equal((await me(app, bob.access_token)).statusCode, 200);
  });
});
