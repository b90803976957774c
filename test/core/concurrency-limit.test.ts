import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { ConcurrencyLimit } from '../../src/core/concurrency-limit.js';
import { AppError } from '../../src/errors.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

test('no more than `max` tasks run at once, and queued tasks run in order as slots free up', async () => {
  const limit = new ConcurrencyLimit(2, 10);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const gates = Array.from({ length: 5 }, deferred);
  const tasks = gates.map((gate, i) => limit.run(async () => {
    running++;
    peak = Math.max(peak, running);
    order.push(i);
    await gate.promise;
    running--;
  }));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [0, 1]);
  for (const gate of gates) gate.resolve();
  await Promise.all(tasks);
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
});

test('past the queue length callers get rate_limited with Retry-After at once', async () => {
  const limit = new ConcurrencyLimit(1, 1);
  const gate = deferred();
  const first = limit.run(() => gate.promise);
  const second = limit.run(async () => 'queued');
  await assert.rejects(limit.run(async () => 'third'), (error: unknown) => error instanceof AppError && error.code === 'rate_limited' && error.headers['retry-after'] === '1');
  gate.resolve();
  await first;
  assert.equal(await second, 'queued');
});

test('a failing task frees its slot', async () => {
  const limit = new ConcurrencyLimit(1, 5);
  await assert.rejects(limit.run(async () => { throw new Error('boom'); }));
  assert.equal(await limit.run(async () => 'next'), 'next');
});

test('a caller whose signal aborts while it waits leaves the queue: its task never runs and the slot goes to the next caller', async () => {
  const limit = new ConcurrencyLimit(1, 10);
  const gate = deferred();
  const ran: string[] = [];
  const first = limit.run(async () => { ran.push('first'); await gate.promise; });
  const leaving = new AbortController();
  const left = limit.run(async () => { ran.push('left'); }, leaving.signal);
  const last = limit.run(async () => { ran.push('last'); });
  const reason = new Error('client gone');
  leaving.abort(reason);
  await assert.rejects(left, (error: unknown) => error === reason);
  gate.resolve();
  await Promise.all([first, last]);
  assert.deepEqual(ran, ['first', 'last']);
  // The slot was given back.
  assert.equal(await limit.run(async () => 'again'), 'again');
});

test('an aborted signal starts no task, even when a slot is free, and takes no slot', async () => {
  const limit = new ConcurrencyLimit(1, 10);
  const aborted = AbortSignal.abort(new Error('gone'));
  let ran = false;
  await assert.rejects(limit.run(async () => { ran = true; }, aborted), /gone/);
  assert.equal(ran, false);
  assert.equal(await limit.run(async () => 'free'), 'free');
});

test('a signal that never aborts changes nothing, and its listener goes when the caller gets its turn', async () => {
  const limit = new ConcurrencyLimit(1, 10);
  const gate = deferred();
  const first = limit.run(() => gate.promise);
  const controller = new AbortController();
  const second = limit.run(async () => 'second', controller.signal);
  gate.resolve();
  await first;
  assert.equal(await second, 'second');
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  // Aborting after the turn was given must not reject or disturb anything.
  controller.abort();
  assert.equal(await limit.run(async () => 'third'), 'third');
});
