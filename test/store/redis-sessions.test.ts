// The session-store contract on Redis and on Redis Cluster, plus what only Redis has: key TTLs,
// the per-user index, and the number of commands on the hot path. Each store gets its own key
// prefix and its keys are deleted afterwards (db 0 may be shared).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import { hashSecret, newRefreshSecret, newSessionId } from '../../src/core/refresh-tokens.js';
import { openRedis, pingRedis } from '../../src/store/redis/connect.js';
import { RedisSessionStore, sessionKey, userKey } from '../../src/store/redis/sessions.js';
import type { SessionRecord } from '../../src/store/types.js';
import { sessionStoreContract } from './session-contract.js';

type Client = Redis | Cluster;
const HOUR = 3_600_000;
const RUN = `tgtest:${process.pid}:${randomBytes(4).toString('hex')}`;
let prefixes = 0;

/** The node itself, or every master of a Cluster. */
function masters(client: Client): Redis[] {
  return 'nodes' in client && typeof client.nodes === 'function' ? (client as Cluster).nodes('master') : [client as Redis];
}

/** Every key under `prefix`, on every master of a Cluster. */
async function keysUnder(client: Client, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of masters(client)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}

async function deleteUnder(client: Client, prefix: string): Promise<void> {
  await Promise.all((await keysUnder(client, prefix)).map((key) => client.del(key)));
}

/** Names of the commands `fn` sends through `client`. */
async function commandsSent(client: Client, fn: () => Promise<unknown>): Promise<string[]> {
  const target = client as unknown as { sendCommand: (command: { name: string }, ...rest: unknown[]) => unknown };
  const original = target.sendCommand;
  const names: string[] = [];
  target.sendCommand = function (this: unknown, command, ...rest) {
    names.push(command.name);
    return original.call(this, command, ...rest);
  };
  try {
    await fn();
  } finally {
    target.sendCommand = original;
  }
  return names;
}

for (const target of [
  { name: 'Redis', env: 'TEST_REDIS_URL' },
  { name: 'Redis Cluster', env: 'TEST_REDIS_CLUSTER_URL' },
]) {
  const url = process.env[target.env];
  const skip = url ? undefined : `${target.env} is not set`;
  let client: Client | undefined;
  const connect = async (): Promise<Client> => {
    if (!client) {
      client = openRedis(url!);
      await pingRedis(client);
    }
    return client;
  };
  after(async () => {
    await client?.quit();
  });

  const open = async (): Promise<{ store: RedisSessionStore; prefix: string; redis: Client; close(): Promise<void> }> => {
    const redis = await connect();
    const prefix = `${RUN}:${++prefixes}:`;
    return { store: new RedisSessionStore(redis, { prefix }), prefix, redis, close: () => deleteUnder(redis, prefix) };
  };

  sessionStoreContract(target.name, open, skip ? { skip } : undefined);

  describe(`${target.name} session store: keys and TTLs`, { skip: skip ?? false }, () => {
    function record(userId: string, t0: number, over: Partial<SessionRecord> = {}): SessionRecord & { secret: Buffer } {
      const secret = newRefreshSecret();
      return {
        id: newSessionId(), userId, generation: 0, refreshHash: hashSecret(secret), rotatedAt: [], createdAt: t0, lastUsedAt: t0,
        expiresAt: t0 + HOUR, absoluteExpiresAt: t0 + 4 * HOUR, userAgent: 'curl/8.5.0', ip: '198.51.100.1', secret, ...over,
      };
    }

    test('every key written has a TTL, no longer than what it guards', async () => {
      const { store, prefix, redis, close } = await open();
      try {
        const t0 = Date.now();
        const [alice, bob] = [randomUUID(), randomUUID()];
        const sessions = [
          record(alice, t0), record(alice, t0, { absoluteExpiresAt: t0 + 2 * HOUR }), record(alice, t0, { expiresAt: t0 + 3 * HOUR, absoluteExpiresAt: t0 + 2 * HOUR }),
          record(bob, t0, { userAgent: null, ip: null }), record(bob, t0, { expiresAt: t0 + 5 * 60_000 }),
        ];
        for (const s of sessions) await store.createSession(s);
        // Rotations and grace move the idle expiry (and so the TTL) forward; reuse deletes.
        const rotate = (s: (typeof sessions)[number], now: number, hashes: string[]) =>
          store.rotateSession({ sessionId: s.id, generation: 0, hashes, now, graceMs: 10_000, idleTtlMs: 2 * HOUR });
        const next = hashSecret(randomBytes(32));
        assert.equal((await rotate(sessions[0]!, t0 + 1_000, [sessions[0]!.refreshHash, next])).outcome, 'rotated');
        assert.equal((await rotate(sessions[0]!, t0 + 2_000, [sessions[0]!.refreshHash, next])).outcome, 'grace');
        assert.equal((await rotate(sessions[1]!, t0 + 1_000, [sessions[1]!.refreshHash, next])).outcome, 'rotated');
        assert.equal((await rotate(sessions[1]!, t0 + 60_000, [sessions[1]!.refreshHash, next])).outcome, 'reused');
        assert.equal(await store.deleteSession(bob, sessions[3]!.id), true);

        const keys = await keysUnder(redis, prefix);
        assert.deepEqual(keys.sort(), [
          sessionKey(prefix, sessions[0]!.id), sessionKey(prefix, sessions[2]!.id), sessionKey(prefix, sessions[4]!.id),
          userKey(prefix, alice), userKey(prefix, bob),
        ].sort());
        // `Date.now() + (await redis.pttl(key))` reads the clock before PTTL runs: never an overestimate.
        const expiresAt = new Map<string, number>();
        for (const key of keys.filter((k) => k.startsWith(`${prefix}s:`))) {
          const id = key.slice(prefix.length + 2);
          const session = await store.getSession(id, Date.now());
          assert.ok(session, `${key} is not a live session`);
          const guarded = Math.min(session.expiresAt, session.absoluteExpiresAt);
          expiresAt.set(id, guarded);
          const at = Date.now() + (await redis.pttl(key));
          assert.ok(at > Date.now(), `${key} has no TTL`);
          assert.ok(at <= guarded + 5, `${key} outlives its session`);
          assert.ok(at >= guarded - 5_000, `${key} expires before its session`);
        }
        assert.equal(expiresAt.get(sessions[0]!.id), t0 + 2_000 + 2 * HOUR);
        assert.equal(expiresAt.get(sessions[2]!.id), t0 + 2 * HOUR);
        for (const user of [alice, bob]) {
          const key = userKey(prefix, user);
          const members = await redis.zrange(key, '0', '-1', 'WITHSCORES');
          const scores = members.filter((_, i) => i % 2 === 1).map(Number);
          const at = Date.now() + (await redis.pttl(key));
          assert.ok(at > Date.now(), `${key} has no TTL`);
          assert.ok(at <= Math.max(...scores) + 5, `${key} outlives the absolute expiry of its sessions`);
          for (const id of members.filter((_, i) => i % 2 === 0)) {
            if (expiresAt.has(id)) assert.ok(at >= expiresAt.get(id)! - 5, `${key} expires before session ${id}`);
          }
        }
        // Deleted and reused sessions are gone from their index.
        assert.deepEqual((await redis.zrange(userKey(prefix, alice), '0', '-1')).sort(), [sessions[0]!.id, sessions[2]!.id].sort());
        assert.deepEqual(await redis.zrange(userKey(prefix, bob), '0', '-1'), [sessions[4]!.id]);
      } finally {
        await close();
      }
    });

    test('the user index shrinks with its sessions and is gone with the last one', async () => {
      const { store, prefix, redis, close } = await open();
      try {
        const t0 = Date.now();
        const user = randomUUID();
        const near = record(user, t0, { absoluteExpiresAt: t0 + HOUR });
        const far = record(user, t0, { absoluteExpiresAt: t0 + 3 * HOUR });
        await store.createSession(near);
        await store.createSession(far);
        const index = userKey(prefix, user);
        assert.ok(Math.abs(Date.now() + (await redis.pttl(index)) - far.absoluteExpiresAt) < 5_000);
        assert.equal(await store.deleteSession(user, far.id), true);
        assert.ok(Date.now() + (await redis.pttl(index)) <= near.absoluteExpiresAt + 5);
        assert.equal(await store.deleteSession(user, near.id), true);
        assert.equal(await redis.exists(index), 0);

        for (let i = 0; i < 3; i++) await store.createSession(record(user, t0));
        assert.equal(await store.deleteUserSessions(user), 3);
        assert.equal(await redis.exists(index), 0);
      } finally {
        await close();
      }
    });

    test('sessions and their index expire in Redis by themselves, and writes prune expired entries', async () => {
      const { store, prefix, redis, close } = await open();
      try {
        const t0 = Date.now();
        const user = randomUUID();
        const brief = record(user, t0, { expiresAt: t0 + 200, absoluteExpiresAt: t0 + 300 });
        await store.createSession(brief);
        await sleep(450);
        assert.equal(await redis.exists(sessionKey(prefix, brief.id)), 0);
        assert.equal(await redis.exists(userKey(prefix, user)), 0);

        const dying = record(user, Date.now(), { expiresAt: Date.now() + 200, absoluteExpiresAt: Date.now() + 200 });
        const lasting = record(user, Date.now());
        await store.createSession(lasting);
        await store.createSession(dying);
        await sleep(300);
        const later = record(user, Date.now());
        await store.createSession(later);
        assert.deepEqual((await redis.zrange(userKey(prefix, user), '0', '-1')).sort(), [lasting.id, later.id].sort());
      } finally {
        await close();
      }
    });

    /** A store holding one new session `s`, created at `t0`, and `next`, the hash its first rotation installs. */
    async function withSession(
      fn: (o: { store: RedisSessionStore; redis: Client; s: ReturnType<typeof record>; next: string; t0: number }) => Promise<void>,
    ): Promise<void> {
      const { store, redis, close } = await open();
      try {
        const t0 = Date.now();
        const s = record(randomUUID(), t0);
        await store.createSession(s);
        await fn({ store, redis, s, next: hashSecret(randomBytes(32)), t0 });
      } finally {
        await close();
      }
    }

    test('the hot path is one command: getSession and rotateSession', () =>
      withSession(async ({ store, redis, s, next, t0 }) => {
        const rotate = (now: number) => store.rotateSession({ sessionId: s.id, generation: 0, hashes: [s.refreshHash, next], now, graceMs: 10_000, idleTtlMs: HOUR });
        // Warm-up: the node may not have the scripts yet (EVALSHA, NOSCRIPT, EVAL once per node).
        await store.getSession(s.id, t0);
        await store.rotateSession({ sessionId: s.id, generation: 9, hashes: [next], now: t0, graceMs: 0, idleTtlMs: HOUR });
        assert.deepEqual(await commandsSent(redis, () => store.getSession(s.id, t0)), ['evalsha']);
        assert.deepEqual(await commandsSent(redis, () => rotate(t0 + 1)), ['evalsha']);
        assert.deepEqual(await commandsSent(redis, () => rotate(t0 + 2)), ['evalsha']);
      }));

    test('a node without the script (SCRIPT FLUSH, a restart) rotates through EVAL once, with the same answer', () =>
      withSession(async ({ store, redis, s, next, t0 }) => {
        await Promise.all(masters(redis).map((node) => node.script('FLUSH')));
        let outcome: Awaited<ReturnType<RedisSessionStore['rotateSession']>> | undefined;
        const sent = await commandsSent(redis, async () => {
          outcome = await store.rotateSession({ sessionId: s.id, generation: 0, hashes: [s.refreshHash, next], now: t0 + 1, graceMs: 10_000, idleTtlMs: HOUR });
        });
        assert.deepEqual(sent, ['evalsha', 'eval']);
        assert.equal(outcome?.outcome, 'rotated');
        const rotated = (outcome as { session: SessionRecord }).session;
        const { secret: _secret, ...stored } = s;
        assert.deepEqual(rotated, { ...stored, generation: 1, refreshHash: next, rotatedAt: [t0 + 1], lastUsedAt: t0 + 1, expiresAt: t0 + 1 + HOUR });
        assert.deepEqual(await store.getSession(s.id, t0 + 1), rotated);
      }));
  });
}
