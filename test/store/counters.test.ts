// The rate-limit counter contract, on process memory (the default) and on Redis (shared by every
// instance when REDIS_URL is set; Redis needs TEST_REDIS_URL).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openRedis, pingRedis } from '../../src/store/redis/connect.js';
import { RedisCounterStore } from '../../src/store/redis/counters.js';
import { MemoryCounterStore } from '../../src/store/memory-counters.js';
import type { CounterStore } from '../../src/store/types.js';
import { hiddenClassesApartFromFirst } from '../support/hidden-class.js';

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

    test('concurrent increments of one key are each counted once, in the order they were made', async () => {
      const counters = await make();
      const key = `k-${randomUUID()}`;
      const t = now();
      const windows = await Promise.all(Array.from({ length: 50 }, () => counters.increment(key, 60_000, t)));
      assert.deepEqual(windows.map((w) => w.count), Array.from({ length: 50 }, (_, i) => i + 1));
      assert.equal((await counters.peek(key, t))?.count, 50);
    });

    test('keys are independent and an unknown key peeks as null', async () => {
      const counters = await make();
      const t = now();
      await counters.increment(`a-${randomUUID()}`, 60_000, t);
      assert.equal(await counters.peek(`b-${randomUUID()}`, t), null);
    });

    test('the windows it answers share one hidden class, so the rate limiter reading them stays monomorphic', async () => {
      const counters = await make();
      const t = now();
      const windows = [];
      for (let i = 0; i < 30; i++) {
        const key = `k-${randomUUID()}`;
        windows.push(await counters.increment(key, 60_000, t));
        windows.push((await counters.peek(key, t))!);
      }
      assert.equal(hiddenClassesApartFromFirst(windows), 0);
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

describe('Redis counters: hits on one key while its increment is in flight', () => {
  test('go to Redis together, as fewer commands than hits', { skip: redisUrl ? false : 'TEST_REDIS_URL is not set' }, async () => {
    const client = openRedis(redisUrl!);
    clients.push(client);
    await pingRedis(client);
    const sent: number[] = [];
    const real = client as unknown as { tgIncrementWindow(key: string, windowMs: number, by: number): Promise<unknown> };
    // The client as the store uses it, counting the increments that reach Redis.
    const counting = {
      defineCommand: client.defineCommand.bind(client),
      tgIncrementWindow: (key: string, windowMs: number, by: number) => {
        sent.push(by);
        return real.tgIncrementWindow(key, windowMs, by);
      },
    };
    const counters = new RedisCounterStore(counting as never, { prefix: `tollgate-test:${randomUUID()}:` });
    const windows = await Promise.all(Array.from({ length: 40 }, () => counters.increment('busy', 60_000, Date.now())));
    assert.deepEqual(windows.map((w) => w.count), Array.from({ length: 40 }, (_, i) => i + 1));
    assert.deepEqual(sent, [1, 39], 'the first hit alone, then the 39 that arrived while it was in flight');
  });

  test('fail with it when it fails, and the next hit is sent afresh', async () => {
    const replies: Array<{ resolve(v: unknown): void; reject(e: unknown): void }> = [];
    const fake = {
      defineCommand: () => undefined,
      tgIncrementWindow: () => new Promise((resolve, reject) => replies.push({ resolve, reject })),
    };
    const counters = new RedisCounterStore(fake as never);
    const first = counters.increment('k', 60_000, 0);
    const waiting = counters.increment('k', 60_000, 0);
    assert.equal(replies.length, 1, 'the second hit waits for the first');
    replies[0]!.reject(new Error('command timed out'));
    await assert.rejects(first, /timed out/);
    await assert.rejects(waiting, /timed out/);
    const next = counters.increment('k', 60_000, 0);
    assert.equal(replies.length, 2);
    replies[1]!.resolve([1, 60_000]);
    assert.deepEqual(await next, { count: 1, resetAt: 60_000 });
  });
});
