/**
 * The behaviour every SessionStore engine must have (SQLite, PostgreSQL, Redis, Redis Cluster).
 * Time passes through the `now` argument only, never by sleeping. Times are based on the real
 * clock and expiries lie hours ahead, because engines with server-side TTLs (Redis) also expire
 * keys by the wall clock.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { RefreshChain, hashSecret, newRefreshSecret, newSessionId } from '../../src/core/refresh-tokens.js';
import { ROTATION_HISTORY } from '../../src/store/rotation.js';
import type { RotateOutcome, SessionRecord, SessionStore } from '../../src/store/types.js';

export interface OpenedSessionStore {
  store: SessionStore;
  close(): Promise<void>;
}

/** The hot-path question every protected request asks: is this session live at `now`? */
async function isLive(store: SessionStore, id: string, now: number): Promise<boolean> {
  return (await store.getSession(id, now)) !== null;
}

const SEC = 1_000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const GRACE = 10 * SEC;
const IDLE = HOUR;

export function sessionStoreContract(name: string, open: () => Promise<OpenedSessionStore>, options?: { skip?: string }): void {
  describe(`session store contract: ${name}`, { skip: options?.skip ?? false }, () => {
    const chain = new RefreshChain(createSecretKey(randomBytes(32)));
    let opened: OpenedSessionStore | undefined;
    let store: SessionStore;
    let t0: number;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      t0 = Date.now();
    });
    afterEach(async () => {
      await opened?.close();
      opened = undefined;
    });

    interface Made { readonly record: SessionRecord; readonly secret: Buffer }

    async function make(over: Partial<SessionRecord> = {}): Promise<Made> {
      const secret = newRefreshSecret();
      const record: SessionRecord = {
        id: newSessionId(), userId: randomUUID(), generation: 0, refreshHash: hashSecret(secret), rotatedAt: [],
        createdAt: t0, lastUsedAt: t0, expiresAt: t0 + HOUR, absoluteExpiresAt: t0 + 5 * HOUR,
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', ip: '203.0.113.7', ...over,
      };
      await store.createSession(record);
      return { record, secret };
    }

    /** Presents the token of `generation` whose secret is `secret`, with hashes reaching `depth`. */
    function present(s: SessionRecord, secret: Buffer, generation: number, now: number, depth = 1): Promise<RotateOutcome> {
      return store.rotateSession({ sessionId: s.id, generation, hashes: chain.hashes(secret, depth), now, graceMs: GRACE, idleTtlMs: IDLE });
    }

    function sessionOf(result: RotateOutcome, outcome: 'rotated' | 'grace'): SessionRecord {
      assert.equal(result.outcome, outcome, `expected ${outcome}, got ${JSON.stringify(result)}`);
      return (result as { session: SessionRecord }).session;
    }

    describe('records and expiry', () => {
      test('a created session reads back unchanged and is active', async () => {
        const { record } = await make();
        const bare = (await make({ userAgent: null, ip: null, rotatedAt: [t0 - 5 * SEC, t0 - 9 * SEC], generation: 7 })).record;
        assert.deepEqual(await store.getSession(record.id, t0), record);
        assert.deepEqual(await store.getSession(bare.id, t0), bare);
        assert.equal(await isLive(store, record.id, t0), true);
      });

      test('a user agent with quotes, backslashes, slashes, control and non-ASCII characters reads back and rotates unchanged', async () => {
        const { record, secret } = await make({ userAgent: 'Mozilla/5.0 "x" \\y\\ </z> \u0001\u001f\t\n é 日本 😀 \u2028', ip: '2001:db8::1' });
        assert.deepEqual(await store.getSession(record.id, t0), record);
        const rotated = sessionOf(await present(record, secret, 0, t0 + SEC), 'rotated');
        assert.equal(rotated.userAgent, record.userAgent);
        assert.equal(rotated.ip, record.ip);
      });

      test('an unknown session is absent and inactive', async () => {
        assert.equal(await store.getSession(newSessionId(), t0), null);
        assert.equal(await isLive(store, newSessionId(), t0), false);
      });

      test('a session ends at its idle expiry', async () => {
        const { record } = await make({ expiresAt: t0 + HOUR, absoluteExpiresAt: t0 + 2 * HOUR });
        assert.deepEqual(await store.getSession(record.id, t0 + HOUR - 1), record);
        assert.equal(await isLive(store, record.id, t0 + HOUR - 1), true);
        assert.equal(await store.getSession(record.id, t0 + HOUR), null);
        assert.equal(await isLive(store, record.id, t0 + HOUR), false);
      });

      test('a session ends at its absolute expiry even when its idle expiry is later', async () => {
        const { record } = await make({ expiresAt: t0 + 3 * HOUR, absoluteExpiresAt: t0 + HOUR });
        assert.equal(await isLive(store, record.id, t0 + HOUR - 1), true);
        assert.equal(await store.getSession(record.id, t0 + HOUR), null);
        assert.equal(await isLive(store, record.id, t0 + HOUR), false);
      });
    });

    describe('listing and deleting', () => {
      test("lists only the user's live sessions, newest first", async () => {
        const a1 = (await make()).record;
        const userId = a1.userId;
        const a2 = (await make({ userId, createdAt: t0 + SEC, lastUsedAt: t0 + SEC })).record;
        await make({ userId, createdAt: t0 + 2 * SEC, lastUsedAt: t0 + 2 * SEC, expiresAt: t0 + 10 * MIN });
        const other = (await make()).record;
        assert.deepEqual(await store.listSessions(userId, t0 + 20 * MIN), [a2, a1]);
        assert.deepEqual(await store.listSessions(other.userId, t0), [other]);
        assert.deepEqual(await store.listSessions(`user-${randomUUID()}`, t0), []);
      });

      test('deleteSession deletes a session only for its owner', async () => {
        const { record } = await make();
        assert.equal(await store.deleteSession(`user-${randomUUID()}`, record.id), false);
        assert.equal(await isLive(store, record.id, t0), true);
        assert.equal(await store.deleteSession(record.userId, record.id), true);
        assert.equal(await isLive(store, record.id, t0), false);
        assert.equal(await store.deleteSession(record.userId, record.id), false);
        assert.equal(await store.deleteSession(record.userId, newSessionId()), false);
      });

      test("deleteUserSessions deletes all the user's sessions and no one else's", async () => {
        const first = (await make()).record;
        const mine = [first, (await make({ userId: first.userId })).record, (await make({ userId: first.userId })).record];
        const other = (await make()).record;
        assert.equal(await store.deleteUserSessions(first.userId), 3);
        for (const s of mine) assert.equal(await isLive(store, s.id, t0), false);
        assert.deepEqual(await store.listSessions(first.userId, t0), []);
        assert.deepEqual(await store.listSessions(other.userId, t0), [other]);
        assert.equal(await store.deleteUserSessions(first.userId), 0);
      });

      test('deleteUserSessions keeps the excepted session', async () => {
        const first = (await make()).record;
        const kept = (await make({ userId: first.userId, createdAt: t0 + SEC })).record;
        const third = (await make({ userId: first.userId })).record;
        assert.equal(await store.deleteUserSessions(first.userId, { except: kept.id }), 2);
        assert.deepEqual(await store.listSessions(first.userId, t0 + SEC), [kept]);
        assert.equal(await isLive(store, third.id, t0), false);
      });
    });

    describe('rotateSession', () => {
      test('the current token rotates: next generation and hash, rotation time recorded, idle expiry renewed', async () => {
        const { record, secret } = await make();
        const now = t0 + 30 * MIN;
        const rotated = sessionOf(await present(record, secret, 0, now), 'rotated');
        assert.deepEqual(rotated, {
          ...record, generation: 1, refreshHash: hashSecret(chain.next(secret)), rotatedAt: [now], lastUsedAt: now, expiresAt: now + IDLE,
        });
        assert.deepEqual(await store.getSession(record.id, now), rotated);
      });

      test('the renewed idle expiry never passes the absolute expiry', async () => {
        const { record, secret } = await make({ expiresAt: t0 + 30 * MIN, absoluteExpiresAt: t0 + HOUR });
        const rotated = sessionOf(await present(record, secret, 0, t0 + 20 * MIN), 'rotated');
        assert.equal(rotated.expiresAt, t0 + HOUR);
        assert.equal((await store.getSession(record.id, t0 + 20 * MIN))?.expiresAt, t0 + HOUR);
      });

      test(`rotation keeps the last ${ROTATION_HISTORY} rotation times, newest first`, async () => {
        const { record, secret } = await make();
        const times: number[] = [];
        for (let g = 0; g < ROTATION_HISTORY + 2; g++) {
          const now = t0 + (g + 1) * MIN;
          times.unshift(now);
          assert.equal(sessionOf(await present(record, chain.advance(secret, g), g, now), 'rotated').generation, g + 1);
        }
        assert.deepEqual((await store.getSession(record.id, t0 + 10 * MIN))?.rotatedAt, times.slice(0, ROTATION_HISTORY));
      });

      test('the current token with only its own hash asks for one more', async () => {
        const { record, secret } = await make();
        assert.deepEqual(await present(record, secret, 0, t0 + MIN, 0), { outcome: 'deeper', depth: 1 });
        assert.deepEqual(await store.getSession(record.id, t0 + MIN), record);
      });

      test('the previous token within grace gets the current session and rotates nothing', async () => {
        const { record, secret } = await make();
        const t1 = t0 + MIN;
        const rotated = sessionOf(await present(record, secret, 0, t1), 'rotated');
        const graced = sessionOf(await present(record, secret, 0, t1 + GRACE), 'grace');
        assert.deepEqual(graced, { ...rotated, lastUsedAt: t1 + GRACE, expiresAt: t1 + GRACE + IDLE });
        assert.equal(graced.refreshHash, hashSecret(chain.advance(secret, 1)));
        assert.deepEqual(await store.getSession(record.id, t1 + GRACE), graced);
      });

      test('the previous token after grace is reuse: the session is deleted', async () => {
        const { record, secret } = await make();
        const t1 = t0 + MIN;
        sessionOf(await present(record, secret, 0, t1), 'rotated');
        assert.deepEqual(await present(record, secret, 0, t1 + GRACE + 1), { outcome: 'reused' });
        assert.equal(await store.getSession(record.id, t1 + GRACE + 1), null);
        assert.equal(await isLive(store, record.id, t1 + GRACE + 1), false);
        assert.deepEqual(await store.listSessions(record.userId, t1 + GRACE + 1), []);
        assert.deepEqual(await present(record, chain.next(secret), 1, t1 + GRACE + 2), { outcome: 'invalid' });
      });

      test('grace runs from the first rotation and is never extended', async () => {
        const { record, secret } = await make();
        const t1 = t0 + MIN;
        sessionOf(await present(record, secret, 0, t1), 'rotated');
        sessionOf(await present(record, secret, 0, t1 + GRACE - 1), 'grace');
        sessionOf(await present(record, chain.next(secret), 1, t1 + GRACE - 1), 'rotated');
        // Generation 1 was first rotated at t1 + GRACE - 1: still in grace. Generation 0 at t1: not.
        assert.equal(sessionOf(await present(record, chain.next(secret), 1, t1 + GRACE + 1), 'grace').generation, 2);
        assert.deepEqual(await present(record, secret, 0, t1 + GRACE + 1, 2), { outcome: 'reused' });
        assert.equal(await isLive(store, record.id, t1 + GRACE + 1), false);
      });

      test('a token two generations old asks for deeper hashes, then gets the right decision', async () => {
        const { record, secret } = await make();
        sessionOf(await present(record, secret, 0, t0 + SEC), 'rotated');
        const current = sessionOf(await present(record, chain.next(secret), 1, t0 + 2 * SEC), 'rotated');
        assert.deepEqual(await present(record, secret, 0, t0 + 3 * SEC, 1), { outcome: 'deeper', depth: 2 });
        assert.deepEqual(await store.getSession(record.id, t0 + 3 * SEC), current);
        const graced = sessionOf(await present(record, secret, 0, t0 + 3 * SEC, 2), 'grace');
        assert.equal(graced.generation, 2);
        assert.equal(graced.refreshHash, current.refreshHash);
        assert.deepEqual(await present(record, secret, 0, t0 + SEC + GRACE + 1, 2), { outcome: 'reused' });
      });

      test('a wrong hash is invalid and changes nothing, for the current and for older generations', async () => {
        const { record, secret } = await make();
        const forged = newRefreshSecret();
        assert.deepEqual(await present(record, forged, 0, t0 + MIN), { outcome: 'invalid' });
        assert.deepEqual(await store.getSession(record.id, t0 + MIN), record);
        const rotated = sessionOf(await present(record, secret, 0, t0 + MIN), 'rotated');
        // A forged "old" token must not pass for reuse and end the session.
        assert.deepEqual(await present(record, forged, 0, t0 + HOUR), { outcome: 'invalid' });
        assert.deepEqual(await store.getSession(record.id, t0 + MIN), rotated);
      });

      test('unknown and expired sessions are invalid and left alone', async () => {
        const { record, secret } = await make({ expiresAt: t0 + HOUR, absoluteExpiresAt: t0 + 2 * HOUR });
        assert.deepEqual(await store.rotateSession({ sessionId: newSessionId(), generation: 0, hashes: chain.hashes(secret, 1), now: t0, graceMs: GRACE, idleTtlMs: IDLE }), { outcome: 'invalid' });
        assert.deepEqual(await present(record, secret, 0, t0 + HOUR), { outcome: 'invalid' });
        assert.deepEqual(await present(record, secret, 0, t0 + 2 * HOUR), { outcome: 'invalid' });
        const late = await make({ expiresAt: t0 + 3 * HOUR, absoluteExpiresAt: t0 + HOUR });
        assert.deepEqual(await present(late.record, late.secret, 0, t0 + HOUR), { outcome: 'invalid' });
        assert.equal(sessionOf(await present(late.record, late.secret, 0, t0 + HOUR - 1), 'rotated').expiresAt, t0 + HOUR);
        assert.deepEqual(await store.getSession(record.id, t0), record);
      });

      test('a future generation is invalid and changes nothing', async () => {
        const { record, secret } = await make();
        assert.deepEqual(await present(record, chain.next(secret), 1, t0 + MIN), { outcome: 'invalid' });
        // Even with the current secret: the generation is part of the token and must match.
        assert.deepEqual(await present(record, secret, 1, t0 + MIN), { outcome: 'invalid' });
        assert.deepEqual(await store.getSession(record.id, t0 + MIN), record);
      });

      test('50 concurrent rotations of the current token: exactly one rotates, the others get grace', async () => {
        const { record, secret } = await make({ generation: 3, rotatedAt: [t0 - HOUR] });
        const now = t0 + MIN;
        const results = await Promise.all(Array.from({ length: 50 }, () => present(record, secret, 3, now)));
        const rotated = results.filter((r) => r.outcome === 'rotated');
        assert.equal(rotated.length, 1, JSON.stringify(results.map((r) => r.outcome)));
        assert.equal(results.filter((r) => r.outcome === 'grace').length, 49);
        const current = sessionOf(rotated[0]!, 'rotated');
        assert.equal(current.generation, 4);
        for (const r of results) assert.equal(sessionOf(r, r.outcome as 'rotated' | 'grace').refreshHash, current.refreshHash);
        assert.equal((await store.getSession(record.id, now))?.generation, 4);
      });
    });
  });
}
