import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { hashSecret, newSessionId } from '../../src/core/refresh-tokens.js';
import { CachedSessionStore, type Invalidation, type InvalidationBus } from '../../src/store/session-cache.js';
import { openSqlDatabase } from '../../src/store/sql/database.js';
import { migrate } from '../../src/store/sql/migrations.js';
import { SqlSessionStore } from '../../src/store/sql/sessions.js';
import type { SessionRecord, SessionStore } from '../../src/store/types.js';

/** Delivers each publish to every other bus on the same hub, synchronously, while live. */
class MemoryBus implements InvalidationBus {
  live = true;
  published: Invalidation[] = [];
  handlers: Parameters<InvalidationBus['subscribe']>[0] | undefined;
  constructor(readonly hub: MemoryBus[]) {
    hub.push(this);
  }
  subscribe(handlers: Parameters<InvalidationBus['subscribe']>[0]): void {
    this.handlers = handlers;
  }
  async publish(message: Invalidation): Promise<void> {
    this.published.push(message);
    for (const bus of this.hub) if (bus !== this && bus.live) bus.handlers?.message(message);
  }
  drop(): void {
    this.live = false;
    this.handlers?.reset();
  }
}

/** The shared store, counting the reads that reach it to tell cache hits from misses. */
class CountingStore implements SessionStore {
  reads = 0;
  constructor(readonly inner: SessionStore) {}
  getSession(id: string, now: number, options?: { fresh?: boolean }) {
    this.reads++;
    return this.inner.getSession(id, now, options);
  }
  createSession(s: SessionRecord) { return this.inner.createSession(s); }
  rotateSession(r: Parameters<SessionStore['rotateSession']>[0]) { return this.inner.rotateSession(r); }
  listSessions(userId: string, now: number) { return this.inner.listSessions(userId, now); }
  deleteSession(userId: string, id: string) { return this.inner.deleteSession(userId, id); }
  deleteUserSessions(userId: string, options?: { except?: string }) { return this.inner.deleteUserSessions(userId, options); }
}

const T0 = Date.UTC(2026, 0, 1);

function session(userId: string): SessionRecord {
  return {
    id: newSessionId(), userId, generation: 0, refreshHash: hashSecret(randomBytes(32)), rotatedAt: [], createdAt: T0, lastUsedAt: T0,
    expiresAt: T0 + 3_600_000, absoluteExpiresAt: T0 + 7_200_000, userAgent: null, ip: null,
  };
}

async function twoProcesses() {
  const { db, sqlite } = openSqlDatabase('sqlite::memory:');
  await migrate(db);
  const shared = new CountingStore(new SqlSessionStore(db, sqlite));
  const hub: MemoryBus[] = [];
  const busA = new MemoryBus(hub);
  const busB = new MemoryBus(hub);
  return { shared, busA, busB, a: new CachedSessionStore(shared, busA), b: new CachedSessionStore(shared, busB), close: () => db.destroy() };
}

describe('session cache with invalidation', () => {
  test('a live session is served from memory after the first read', async () => {
    const { shared, b, close } = await twoProcesses();
    const s = session('u1');
    await shared.createSession(s);
    await b.getSession(s.id, T0);
    await b.getSession(s.id, T0 + 1);
    assert.equal(shared.reads, 1);
    await close();
  });

  test('a cache hit answers synchronously and a miss with a promise', async () => {
    const { shared, b, close } = await twoProcesses();
    const s = session('u1');
    await shared.createSession(s);
    const miss = b.getSession(s.id, T0);
    assert.ok(miss instanceof Promise, 'the first lookup reads the shared store');
    assert.deepEqual(await miss, s);
    const hit = b.getSession(s.id, T0 + 1);
    assert.equal(hit instanceof Promise, false, 'a hit needs no promise (the hot path relies on it)');
    assert.deepEqual(hit, s);
    await close();
  });

  test('a session ended on one process is refused by the other on its very next lookup', async () => {
    const { a, b, close } = await twoProcesses();
    const s = session('u1');
    await a.createSession(s);
    assert.ok(await b.getSession(s.id, T0));
    assert.equal(await a.deleteSession('u1', s.id), true);
    assert.equal(await b.getSession(s.id, T0 + 1), null);
    await close();
  });

  test('ending all of a user\'s sessions but one reaches every cache', async () => {
    const { a, b, close } = await twoProcesses();
    const keep = session('u1');
    const end = session('u1');
    const other = session('u2');
    for (const s of [keep, end, other]) await a.createSession(s);
    for (const s of [keep, end, other]) assert.ok(await b.getSession(s.id, T0));
    await a.deleteUserSessions('u1', { except: keep.id });
    assert.ok(await b.getSession(keep.id, T0));
    assert.equal(await b.getSession(end.id, T0), null);
    assert.ok(await b.getSession(other.id, T0));
    await close();
  });

  test('while the bus is down every lookup reads the store, so a change made without a message is seen at once', async () => {
    const { shared, busB, b, close } = await twoProcesses();
    const s = session('u1');
    await shared.createSession(s);
    assert.ok(await b.getSession(s.id, T0));
    busB.drop();
    await shared.deleteSession('u1', s.id); // no message: as if it were lost
    assert.equal(await b.getSession(s.id, T0), null);
    await close();
  });

  test('a lookup that raced an invalidation is not cached', async () => {
    const { shared, busB, b, close } = await twoProcesses();
    const s = session('u1');
    await shared.createSession(s);
    const original = shared.getSession.bind(shared);
    shared.getSession = async (id, now) => {
      const found = await original(id, now);
      busB.handlers?.message({ session: s.id }); // the session ends while this read is in flight
      return found;
    };
    assert.ok(await b.getSession(s.id, T0));
    shared.getSession = original;
    const before = shared.reads;
    await b.getSession(s.id, T0);
    assert.equal(shared.reads, before + 1, 'the raced result must not have been cached');
    await close();
  });

  test('no entry is trusted for more than two seconds', async () => {
    const { shared, b, close } = await twoProcesses();
    const s = session('u1');
    await shared.createSession(s);
    await b.getSession(s.id, T0);
    await b.getSession(s.id, T0 + 1_999);
    assert.equal(shared.reads, 1);
    await b.getSession(s.id, T0 + 2_000);
    assert.equal(shared.reads, 2);
    await close();
  });

  test('concurrent misses for one session share one store read', async () => {
    const { shared, b, close } = await twoProcesses();
    const s = session('u1');
    await shared.createSession(s);
    const results = await Promise.all(Array.from({ length: 64 }, () => b.getSession(s.id, T0)));
    assert.equal(shared.reads, 1);
    assert.ok(results.every((r) => r?.id === s.id));
    await close();
  });

  test('a lookup that starts after an invalidation does not join a read that started before it', async () => {
    const { shared, busB, b, close } = await twoProcesses();
    const s = session('u1');
    await shared.createSession(s);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const original = shared.getSession.bind(shared);
    shared.getSession = async (id, now) => {
      const found = await original(id, now); // read before the logout below
      await gate;
      return found;
    };
    const early = b.getSession(s.id, T0);
    await shared.inner.deleteSession('u1', s.id); // the session ends on another process...
    busB.handlers?.message({ session: s.id }); // ...and its invalidation arrives while the read is in flight
    shared.getSession = original;
    const late = b.getSession(s.id, T0);
    release();
    assert.ok(await early, 'the early lookup answers with what it read');
    assert.equal(await late, null, 'the late lookup joined a read from before the logout');
    assert.equal(shared.reads, 2);
    await close();
  });

  test('a lookup that joins a shared read applies its own clock to the expiry', async () => {
    const { shared, b, close } = await twoProcesses();
    const s = { ...session('u1'), expiresAt: T0 + 1_000 };
    await shared.createSession(s);
    const [first, second] = await Promise.all([b.getSession(s.id, T0 + 999), b.getSession(s.id, T0 + 1_000)]);
    assert.equal(first?.id, s.id);
    assert.equal(second, null);
    assert.equal(shared.reads, 1);
    await close();
  });

  test('a rotation drops the rotating process\'s copy and publishes nothing; the other process keeps serving its copy', async () => {
    const { shared, busA, a, b, close } = await twoProcesses();
    const s = session('u1');
    await a.createSession(s);
    assert.equal((await a.getSession(s.id, T0))?.generation, 0);
    assert.equal((await b.getSession(s.id, T0))?.generation, 0);
    const rotate = { sessionId: s.id, generation: 0, hashes: [s.refreshHash, hashSecret(randomBytes(32))], now: T0 + 1, graceMs: 10_000, idleTtlMs: 3_600_000 };
    assert.equal((await a.rotateSession(rotate)).outcome, 'rotated');
    assert.deepEqual(busA.published, []);
    const reads = shared.reads;
    assert.equal((await a.getSession(s.id, T0 + 2))?.generation, 1, 'the rotating process reads the new generation');
    assert.equal(shared.reads, reads + 1);
    const copy = b.getSession(s.id, T0 + 2);
    assert.equal(copy instanceof Promise, false, 'the other process answers from memory');
    assert.equal((copy as SessionRecord | null)?.generation, 0);
    assert.equal((await b.getSession(s.id, T0 + 2, { fresh: true }))?.generation, 1, 'a fresh read sees the rotation');
    await close();
  });

  test('a fresh read reaches the store even when the session is cached, and is not remembered', async () => {
    const { shared, b, close } = await twoProcesses();
    const s = session('u1');
    await shared.createSession(s);
    assert.ok(await b.getSession(s.id, T0, { fresh: true }));
    assert.ok(await b.getSession(s.id, T0));
    assert.equal(shared.reads, 2, 'the fresh read left nothing in the cache');
    assert.ok(await b.getSession(s.id, T0, { fresh: true }));
    assert.equal(shared.reads, 3, 'a cached session is read again when asked fresh');
    assert.ok(b.getSession(s.id, T0) instanceof Promise === false, 'the cached copy still serves ordinary lookups');
    await close();
  });

  test('reuse of a rotated refresh token on one process ends the session in every cache', async () => {
    const { busA, a, b, close } = await twoProcesses();
    const s = session('u1');
    await a.createSession(s);
    assert.ok(await b.getSession(s.id, T0));
    const next = hashSecret(randomBytes(32));
    const rotate = { sessionId: s.id, generation: 0, hashes: [s.refreshHash, next], graceMs: 10_000, idleTtlMs: 3_600_000 };
    assert.equal((await a.rotateSession({ ...rotate, now: T0 })).outcome, 'rotated');
    assert.equal((await a.rotateSession({ ...rotate, now: T0 + 20_000 })).outcome, 'reused');
    assert.deepEqual(busA.published, [{ session: s.id }]);
    assert.equal(await b.getSession(s.id, T0 + 20_001), null);
    await close();
  });
});
