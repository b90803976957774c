import type { Cluster, Redis } from 'ioredis';
import type { CounterStore } from '../types.js';

// INCR and the window's expiry in one atomic step: a crash between the two can never leave a
// counter without a TTL (which would rate-limit its key forever).
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
`;

/** Rate-limit counters shared by every instance through Redis. Keys: `<prefix>rl:<key>`, TTL = window. */
export class RedisCounterStore implements CounterStore {
  readonly #client: Redis | Cluster;
  readonly #prefix: string;

  constructor(client: Redis | Cluster, options?: { prefix?: string }) {
    this.#client = client;
    this.#prefix = `${options?.prefix ?? 'tg:'}rl:`;
    this.#client.defineCommand('tgIncrementWindow', { numberOfKeys: 1, lua: INCREMENT });
  }

  async increment(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    const [count, ttl] = (await (this.#client as unknown as Incrementing).tgIncrementWindow(this.#prefix + key, windowMs)) as [number, number];
    return { count, resetAt: now + Math.max(ttl, 0) };
  }

  async peek(key: string, now: number): Promise<{ count: number; resetAt: number } | null> {
    const [count, ttl] = await Promise.all([this.#client.get(this.#prefix + key), this.#client.pttl(this.#prefix + key)]);
    return count === null || ttl <= 0 ? null : { count: Number(count), resetAt: now + ttl };
  }
}

interface Incrementing {
  tgIncrementWindow(key: string, windowMs: number): Promise<unknown>;
}
