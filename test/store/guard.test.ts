import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, StoreUnavailableError } from '../../src/errors.js';
import { guardStore } from '../../src/store/guard.js';

class Engine {
  cached(): string { return 'from memory'; }
  async read(): Promise<string> { return 'from disk'; }
  throwsNow(): never { throw new Error('ECONNREFUSED 127.0.0.1:6379'); }
  async rejects(): Promise<never> { throw new Error('socket closed'); }
  async refuses(): Promise<never> { throw new AppError('invalid_grant'); }
}

test('guardStore passes a synchronous answer through without a promise', () => {
  const store = guardStore('redis', new Engine());
  assert.equal(store.cached(), 'from memory');
});

test('guardStore keeps asynchronous answers as they are', async () => {
  assert.equal(await guardStore('redis', new Engine()).read(), 'from disk');
});

test('guardStore turns engine failures, thrown or rejected, into StoreUnavailableError naming the store', async () => {
  const store = guardStore('redis', new Engine());
  const unavailable = (error: unknown): boolean => error instanceof StoreUnavailableError && error.store === 'redis';
  assert.throws(() => store.throwsNow(), unavailable);
  await assert.rejects(store.rejects(), unavailable);
});

test('guardStore lets the store\'s own AppErrors through unchanged', async () => {
  await assert.rejects(guardStore('postgresql', new Engine()).refuses(), (error: unknown) => error instanceof AppError && error.code === 'invalid_grant');
});
