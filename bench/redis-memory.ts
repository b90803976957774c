/**
 * Redis memory per active session, through RedisSessionStore:
 *
 *   node --import tsx bench/redis-memory.ts
 *
 * Env: BENCH_REDIS_URL (else TEST_REDIS_URL, else redis://127.0.0.1:6379), BENCH_SESSIONS
 * (100000), BENCH_SESSIONS_PER_USER (comma list of scenarios, "1,5"). For each scenario it
 * creates the sessions in bounded batches under a unique prefix, reports the used_memory delta
 * per session and MEMORY USAGE of sample keys, rotates every session ROTATION_HISTORY times (a
 * full rotation history: the steady state of a session in use) and measures again, then deletes
 * them all. On a shared Redis other clients add noise to used_memory; the samples are exact.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { hashSecret, newSessionId } from '../src/core/refresh-tokens.js';
import { openRedis, pingRedis } from '../src/store/redis/connect.js';
import { RedisSessionStore, sessionKey, userKey } from '../src/store/redis/sessions.js';
import { ROTATION_HISTORY } from '../src/store/rotation.js';
import type { SessionRecord } from '../src/store/types.js';

const url = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const total = Number(process.env.BENCH_SESSIONS ?? 100_000);
const scenarios = (process.env.BENCH_SESSIONS_PER_USER ?? '1,5').split(',').map(Number);
const BATCH = 500;
const HOUR = 3_600_000;
const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

async function usedMemory(redis: Redis | Cluster): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)![1]);
}

async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH) await Promise.all(items.slice(i, i + BATCH).map(fn));
}

async function memoryUsage(redis: Redis | Cluster, key: string): Promise<number> {
  return Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
}

/**
 * A prefix as long as the default `tg:` (key names are part of the figure) that no key uses yet.
 * Standalone Redis only: SCAN here covers one node.
 */
async function freshPrefix(redis: Redis | Cluster): Promise<string> {
  for (;;) {
    const prefix = `${randomBytes(3).toString('hex').slice(0, 2)}:`;
    let cursor = '0';
    let taken = false;
    do {
      const [next, keys] = await (redis as Redis).scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 10_000);
      taken ||= keys.length > 0;
      cursor = next;
    } while (cursor !== '0' && !taken);
    if (!taken) return prefix;
  }
}

async function scenario(redis: Redis | Cluster, perUser: number): Promise<void> {
  const prefix = await freshPrefix(redis);
  const store = new RedisSessionStore(redis, { prefix });
  const now = Date.now();
  const users = Array.from({ length: Math.ceil(total / perUser) }, () => randomUUID());
  const sessions: (SessionRecord & { hashes: string[] })[] = Array.from({ length: total }, (_, i) => {
    // Stand-ins for the hash chain (the store only compares): hashes[k] for generation k.
    const hashes = Array.from({ length: ROTATION_HISTORY + 1 }, () => hashSecret(randomBytes(32)));
    return {
      id: newSessionId(), userId: users[i % users.length]!, generation: 0, refreshHash: hashes[0]!, rotatedAt: [],
      createdAt: now, lastUsedAt: now, expiresAt: now + 7 * 24 * HOUR, absoluteExpiresAt: now + 30 * 24 * HOUR,
      userAgent: USER_AGENT, ip: `203.0.113.${i % 256}`, hashes,
    };
  });
  const sample = sessions[0]!;
  console.log(`\n${total} sessions, ${perUser} per user (${users.length} users), user agent ${USER_AGENT.length} bytes`);

  const before = await usedMemory(redis);
  await inBatches(sessions, (s) => store.createSession(s));
  const created = await usedMemory(redis);
  const sessionBytes = await memoryUsage(redis, sessionKey(prefix, sample.id));
  const indexBytes = await memoryUsage(redis, userKey(prefix, sample.userId));
  console.log(`  created:  used_memory +${created - before} B = ${((created - before) / total).toFixed(1)} B/session`);
  console.log(`            MEMORY USAGE session key ${sessionBytes} B (value ${await redis.strlen(sessionKey(prefix, sample.id))} B, key name ${sessionKey(prefix, sample.id).length} B), user index ${indexBytes} B for ${perUser} session(s)`);

  for (let g = 0; g < ROTATION_HISTORY; g++) {
    await inBatches(sessions, async (s) => {
      const result = await store.rotateSession({ sessionId: s.id, generation: g, hashes: [s.hashes[g]!, s.hashes[g + 1]!], now: now + (g + 1) * 60_000, graceMs: 10_000, idleTtlMs: 7 * 24 * HOUR });
      if (result.outcome !== 'rotated') throw new Error(`rotation ${g} of ${s.id}: ${result.outcome}`);
    });
  }
  const rotated = await usedMemory(redis);
  console.log(`  rotated ${ROTATION_HISTORY}x: used_memory +${rotated - before} B = ${((rotated - before) / total).toFixed(1)} B/session; MEMORY USAGE session key ${await memoryUsage(redis, sessionKey(prefix, sample.id))} B (value ${await redis.strlen(sessionKey(prefix, sample.id))} B)`);

  let deleted = 0;
  await inBatches(users, async (u) => {
    const n = await store.deleteUserSessions(u);
    deleted += n;
  });
  const after = await usedMemory(redis);
  console.log(`  deleted ${deleted}: used_memory ${after - before >= 0 ? '+' : ''}${after - before} B vs. before`);
  if (deleted !== total) throw new Error(`deleted ${deleted} of ${total}`);
}

const redis = openRedis(url);
try {
  await pingRedis(redis);
  for (const perUser of scenarios) await scenario(redis, perUser);
} finally {
  await redis.quit();
}
