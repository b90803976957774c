// The rate-limit counter contract, on process memory (the default) and on Redis (shared by every
// instance when REDIS_URL is set; Redis needs TEST_REDIS_URL).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openRedis, pingRedis } from '../../src/store/redis/connect.js';
import { RedisCounterStore } from '../../src/store/redis/counters.js';
import { MemoryCounterStore } from '../../src/store/memory-counters.js';
import type { CounterStore } from '../../src/store/types.js';

function counterContract(name: string, make: () => Promise<CounterStore>, options?: { skip?: string; wallClock?: boolean }): void {
  describe(`counter store contract: ${name}`, { skip: options?.skip ?? false }, () => {
    // Redis expires windows by its own clock, so times there must be the real ones.
    const now = () => (options?.wallClock ? Date.now() : 1_000_000);

    test('increments the count within one window and reports when it resets', async () => {
      const counters = await make();
      const key = `k-${randomUUID()}`;
      const t = now();
      assert.equal((await counters.increment(key, 60_000, t)).count, 1);
      const second = await counters.increment(key, 60_000, t);
      assert.equal(second.count, 2);
      assert.ok(second.resetAt > t && second.resetAt <= t + 60_000, `resetAt ${second.resetAt - t} ms ahead`);
      assert.deepEqual((await counters.peek(key, t + 20))?.count, 2);
    });

    test('keys are independent and an unknown key peeks as null', async () => {
      const counters = await make();
      const t = now();
      await counters.increment(`a-${randomUUID()}`, 60_000, t);
      assert.equal(await counters.peek(`b-${randomUUID()}`, t), null);
    });

    test('a window ends: the count starts again from one', async () => {
      const counters = await make();
      const key = `k-${randomUUID()}`;
      const t = now();
      await counters.increment(key, 50, t);
      await counters.increment(key, 50, t);
      // Memory counters follow the given time; Redis ones its own clock, so wait out the 50 ms there.
      if (options?.wallClock) await new Promise((resolve) => setTimeout(resolve, 120));
      const later = options?.wallClock ? Date.now() : t + 51;
      assert.equal(await counters.peek(key, later), null);
      assert.equal((await counters.increment(key, 50, later)).count, 1);
    });
  });
}

counterContract('memory', async () => new MemoryCounterStore());

const redisUrl = process.env.TEST_REDIS_URL;
const clients: ReturnType<typeof openRedis>[] = [];
after(() => { for (const c of clients) c.disconnect(); });
counterContract('Redis', async () => {
  const client = openRedis(redisUrl!);
  clients.push(client);
  await pingRedis(client);
  return new RedisCounterStore(client, { prefix: `tollgate-test:${randomUUID()}:` });
}, { skip: redisUrl ? undefined : 'TEST_REDIS_URL is not set', wallClock: true });
