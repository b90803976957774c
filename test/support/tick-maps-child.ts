/**
 * Child of test/keep-tick-maps.test.ts, run with --expose-gc and V8's map log. With `keep` it
 * loads src/keep-tick-maps.ts first. Then: a million chained nextTicks (enough for V8 to optimize
 * nextTick; after a few thousand the maps outlive the collections), six full collections with no
 * nextTick entry alive, a marker map in the log, the same nextTicks again. The parent reads the
 * log for tick-entry maps built after the marker. Prints `same-map <bool>` (kept object and a
 * real entry, compared after everything else) when it kept one.
 */
import { createHook } from 'node:async_hooks';
import { setImmediate as idle } from 'node:timers/promises';

const keep = process.argv[2] === 'keep';
const kept = keep ? (await import('../../src/keep-tick-maps.js')).keptTickObject : undefined;

const ticks = (count: number): Promise<void> => new Promise((resolve) => {
  let left = count;
  const next = (): void => { if (--left > 0) process.nextTick(next); else resolve(); };
  process.nextTick(next);
});

await ticks(1_000_000);
await idle();
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
for (let i = 0; i < 6; i++) gc();
// A map transition the parent finds in the log: everything after it came after the collections.
const marker: Record<string, number> = {};
marker.tollgate_after_collections = 1;
await ticks(1_000_000);

if (kept) {
  const { hiddenClassesApartFromFirst } = await import('./hidden-class.js');
  let real: object | undefined;
  const hook = createHook({ init(_id, type, _trigger, resource) { if (type === 'TickObject') real = resource as object; } }).enable();
  process.nextTick(() => {});
  hook.disable();
  console.log(`same-map ${real !== undefined && hiddenClassesApartFromFirst([kept, real]) === 0}`);
}
