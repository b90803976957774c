import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, errorCode, me, refresh, signUp, type Pair } from '../helper.js';

describe('refresh rotation', () => {
  test('a refresh rotates the refresh token inside the same session', async (t) => {
    const { app } = await buildTestApp(t);
    const first = await signUp(app, 'alice');
    const res = await refresh(app, first.refresh_token);
    assert.equal(res.statusCode, 200);
    const second = res.json() as Pair;
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.notEqual(second.access_token, first.access_token);
    assert.equal(second.session_id, first.session_id);
    assert.equal((await me(app, second.access_token)).statusCode, 200);
  });

  test('a rotated token within the grace window gets a valid pair of the same session and no second branch', async (t) => {
    const { app, clock } = await buildTestApp(t);
    const first = await signUp(app, 'alice');
    const second = (await refresh(app, first.refresh_token)).json() as Pair;
    clock.advance(5);
    const again = await refresh(app, first.refresh_token);
    assert.equal(again.statusCode, 200);
    const replay = again.json() as Pair;
    assert.equal(replay.session_id, first.session_id);
    // The same current refresh token comes back: both holders share one branch.
    assert.equal(replay.refresh_token, second.refresh_token);
    assert.equal((await me(app, replay.access_token)).statusCode, 200);
    // And that branch still rotates normally.
    assert.equal((await refresh(app, second.refresh_token)).statusCode, 200);
  });

  test('a rotated token after the grace window ends the whole session', async (t) => {
    const { app, clock } = await buildTestApp(t);
    const first = await signUp(app, 'alice');
    const second = (await refresh(app, first.refresh_token)).json() as Pair;
    clock.advance(11);
    const reuse = await refresh(app, first.refresh_token);
    assert.equal(reuse.statusCode, 401);
    assert.equal(errorCode(reuse), 'invalid_grant');
    assert.equal(errorCode(await me(app, second.access_token)), 'token_revoked');
    assert.equal(errorCode(await refresh(app, second.refresh_token)), 'invalid_grant');
  });

  test('the grace window is counted from the first rotation and never extended by replays', async (t) => {
    const { app, clock } = await buildTestApp(t);
    const first = await signUp(app, 'alice');
    await refresh(app, first.refresh_token);
    clock.advance(8);
    assert.equal((await refresh(app, first.refresh_token)).statusCode, 200);
    clock.advance(3); // 11 s after the first rotation
    assert.equal(errorCode(await refresh(app, first.refresh_token)), 'invalid_grant');
  });

  test('a token two rotations old is still recognised as reuse and ends the session', async (t) => {
    const { app, clock } = await buildTestApp(t);
    const first = await signUp(app, 'alice');
    const second = (await refresh(app, first.refresh_token)).json() as Pair;
    const third = (await refresh(app, second.refresh_token)).json() as Pair;
    clock.advance(30);
    assert.equal(errorCode(await refresh(app, first.refresh_token)), 'invalid_grant');
    assert.equal(errorCode(await refresh(app, third.refresh_token)), 'invalid_grant');
  });

  test('concurrent refreshes of one token all get the same single branch', async (t) => {
    const { app } = await buildTestApp(t);
    const first = await signUp(app, 'alice');
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(app, first.refresh_token)));
    assert.ok(results.every((r) => r.statusCode === 200), results.map((r) => r.statusCode).join(','));
    const tokens = new Set(results.map((r) => (r.json() as Pair).refresh_token));
    assert.equal(tokens.size, 1);
    const [current] = tokens;
    assert.equal((await refresh(app, current!)).statusCode, 200);
  });

  test('refresh renews the idle expiry but never past the absolute session lifetime', async (t) => {
    const { app, clock } = await buildTestApp(t, { TOLLGATE_REFRESH_TTL: '5m', TOLLGATE_SESSION_MAX_AGE: '12m', TOLLGATE_ACCESS_TTL: '1m' });
    let pair = await signUp(app, 'alice');
    for (let i = 0; i < 2; i++) {
      clock.advance(4 * 60);
      const res = await refresh(app, pair.refresh_token);
      assert.equal(res.statusCode, 200, `refresh ${i}`);
      pair = res.json() as Pair;
    }
    assert.equal(pair.refresh_expires_in, 4 * 60); // capped by the 12-minute absolute expiry
    clock.advance(4 * 60);
    assert.equal(errorCode(await refresh(app, pair.refresh_token)), 'invalid_grant');
  });

  test('an idle session expires after the refresh lifetime', async (t) => {
    const { app, clock } = await buildTestApp(t, { TOLLGATE_REFRESH_TTL: '5m', TOLLGATE_ACCESS_TTL: '1m' });
    const pair = await signUp(app, 'alice');
    clock.advance(5 * 60);
    assert.equal(errorCode(await refresh(app, pair.refresh_token)), 'invalid_grant');
  });

  test('garbage, forged and access tokens are invalid_grant and change nothing', async (t) => {
    const { app } = await buildTestApp(t);
    const pair = await signUp(app, 'alice');
    const [, sid, gen, secret] = pair.refresh_token.split('.');
    const forged = `tgr.${sid}.${gen}.${secret!.slice(0, -2)}AA`;
    for (const token of ['x', pair.access_token, forged, `tgr.${sid}.7.${secret}`, `${pair.refresh_token}=`]) {
      const res = await refresh(app, token);
      assert.equal(res.statusCode, 401, token);
      assert.equal(errorCode(res), 'invalid_grant');
    }
    assert.equal((await refresh(app, pair.refresh_token)).statusCode, 200);
  });
});
