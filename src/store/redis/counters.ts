import type { Cluster, Redis } from 'ioredis';
import type { CounterStore } from '../types.js';

// INCRBY and the window's expiry in one atomic step: a crash between the two can never leave a
// counter without a TTL (which would rate-limit its key forever). A count equal to the increment
// means this call created the key, so it opens the window.
const INCREMENT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
`;

interface Hit {
  readonly now: number;
  resolve(window: { count: number; resetAt: number }): void;
  reject(error: unknown): void;
}

/**
 * Rate-limit counters shared by every instance through Redis. Keys: `<prefix>rl:<key>`, TTL = window.
 *
 * Hits on one key while its increment is in flight wait for it, then go as one INCRBY of their
 * number, and each gets the count it would have had alone: the last one the reply's count, the
 * ones before it one less each. So a hot key (one busy address, a NAT, an attack from one host)
 * costs one command per round trip instead of one per request, and the counts stay exact: Redis
 * sees every hit, and this process's hits are never counted out of order. The wait is one round
 * trip at most. With 64 connections refreshing from one address, POST /auth/refresh on PostgreSQL
 * + Redis went 1.05x (interleaved A/B, docs/benchmarks.md).
 */
export class RedisCounterStore implements CounterStore {
  readonly #client: Redis | Cluster;
  readonly #prefix: string;
  /**
   * Per key with an increment in flight: the hits that arrived since it was sent. They go with the
   * window of the hit that opened the turn; every key has one window (RateLimits uses one for all).
   */
  readonly #waiting = new Map<string, Hit[]>();

  constructor(client: Redis | Cluster, options?: { prefix?: string }) {
    this.#client = client;
    this.#prefix = `${options?.prefix ?? 'tg:'}rl:`;
    this.#client.defineCommand('tgIncrementWindow', { numberOfKeys: 1, lua: INCREMENT });
  }

  increment(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    return new Promise((resolve, reject) => {
      const hit: Hit = { now, resolve, reject };
      const waiting = this.#waiting.get(key);
      if (waiting) {
        waiting.push(hit);
        return;
      }
      this.#waiting.set(key, []);
      this.#send(key, windowMs, [hit]);
    });
  }

  async peek(key: string, now: number): Promise<{ count: number; resetAt: number } | null> {
    const [count, ttl] = await Promise.all([this.#client.get(this.#prefix + key), this.#client.pttl(this.#prefix + key)]);
    return count === null || ttl <= 0 ? null : { count: Number(count), resetAt: now + ttl };
  }

  #send(key: string, windowMs: number, batch: readonly Hit[]): void {
    let reply: Promise<unknown>;
    try {
      reply = (this.#client as unknown as Incrementing).tgIncrementWindow(this.#prefix + key, windowMs, batch.length);
    } catch (error) {
      reply = Promise.reject(error); // the key's turn must still end, or its later hits would wait forever
    }
    reply.then(
      (reply) => {
        const [count, ttl] = reply as [number, number];
        const first = count - batch.length + 1;
        batch.forEach((hit, i) => hit.resolve({ count: first + i, resetAt: hit.now + Math.max(ttl, 0) }));
        this.#next(key, windowMs);
      },
      (error: unknown) => {
        // The hits that waited fail with it rather than try again: with Redis down or hung they
        // would only fail later (a second command timeout), and a request needing Redis must get
        // its 503 within one timeout.
        const waited = this.#waiting.get(key)!;
        this.#waiting.delete(key);
        for (const hit of [...batch, ...waited]) hit.reject(error);
      },
    );
  }

  /** Sends the hits that waited on the increment that just succeeded, or ends the key's turn. */
  #next(key: string, windowMs: number): void {
    const waiting = this.#waiting.get(key)!;
    if (waiting.length === 0) {
      this.#waiting.delete(key);
      return;
    }
    this.#waiting.set(key, []);
    this.#send(key, windowMs, waiting);
  }
}

interface Incrementing {
  tgIncrementWindow(key: string, windowMs: number, by: number): Promise<unknown>;
}
