import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tokenPairJson } from '../../src/http/present.js';
import type { TokenPair } from '../../src/core/sessions.js';
import { PASSWORD, buildTestApp, refresh, signUp } from '../helper.js';

/** The body the TokenPair schema describes, in its order. */
function schemaOrder(pair: TokenPair) {
  return {
    access_token: pair.accessToken,
    token_type: pair.tokenType,
    expires_in: pair.expiresIn,
    refresh_token: pair.refreshToken,
    refresh_expires_in: pair.refreshExpiresIn,
    session_id: pair.sessionId,
  };
}

describe('token pair JSON', () => {
  test('is the text JSON.stringify gives, for tokens made of every character our formats use', () => {
    for (let i = 0; i < 200; i++) {
      const b64 = (n: number) => randomBytes(n).toString('base64url');
      const pair: TokenPair = {
        accessToken: `${b64(40)}.${b64(180)}.${b64(64)}`,
        tokenType: 'Bearer',
        expiresIn: i * 37,
        refreshToken: `tgr.${b64(16)}.${i * 1_000_003}.${b64(32)}`,
        refreshExpiresIn: 604_800 - i,
        sessionId: b64(16),
      };
      assert.equal(tokenPairJson(pair), JSON.stringify(schemaOrder(pair)));
    }
  });

  test('login and refresh answer exactly that text, as JSON, with the fields in schema order', async (t) => {
    const { app } = await buildTestApp(t);
    const login = await signUp(app, 'alice');
    const again = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } });
    const rotated = await refresh(app, login.refresh_token);
    for (const [label, res] of Object.entries({ login: again, refresh: rotated })) {
      assert.equal(res.statusCode, 200, label);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8', label);
      const body = res.json();
      assert.deepEqual(Object.keys(body), ['access_token', 'token_type', 'expires_in', 'refresh_token', 'refresh_expires_in', 'session_id'], label);
      assert.equal(res.body, JSON.stringify(body), label);
      assert.equal(body.token_type, 'Bearer', label);
    }
    assert.equal(rotated.json().session_id, login.session_id);
  });
});
