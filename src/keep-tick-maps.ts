/**
 * Holds one object shaped like Node's process.nextTick() entries for the life of the process, so
 * that full collections at idle no longer make V8 rebuild their hidden classes. Imported first by
 * the `tollgate` command.
 *
 * Why: Node 20 builds each nextTick entry with a literal whose first two keys are computed
 * (`{ [async_id_symbol]: id, [trigger_async_id_symbol]: id, callback, args }`). V8 keeps
 * feedback for a computed key in a literal as one map, held weakly, and on any other map it
 * turns that feedback megamorphic for good: from then on every literal, in every optimized
 * caller nextTick is inlined into (stream ends, writes, socket reads), defines those keys
 * through the runtime. The map chain dies when no entry is alive through a few full
 * collections, as between requests at idle, and the next nextTick builds a new chain. Four of
 * sixteen fresh processes were in that state from their first measured slice, and forced into
 * it a process ran 10–15 % slower (docs/benchmarks.md, "Runs 8 and 9"). An entry that stays
 * alive keeps the chain, and with it the feedback, as it is.
 *
 * The two symbols are Node's own, read off a public AsyncResource (which sets the same
 * per-isolate symbols on itself); creating one without hooks enabled does nothing else. Async
 * hooks would hand over a real entry, but enabling them even briefly sets V8's promise hooks:
 * afterwards a loop of awaits ran 1.4–2 × slower, for good.
 * test/keep-tick-maps.test.ts checks on the running Node that this object shares a real
 * entry's map, and that idle full collections no longer rebuild the chain.
 */
import { AsyncResource } from 'node:async_hooks';

const symbols = Object.getOwnPropertySymbols(new AsyncResource('tollgate'));
const asyncId = symbols.find((s) => s.description === 'async_id_symbol');
const triggerId = symbols.find((s) => s.description === 'trigger_async_id_symbol');
/** Node's entries take their ids from a Float64Array, so these are doubles too: a small integer would change the fields' representation and rebuild the chain itself. */
const ids = new Float64Array(2);

/** The entry, or undefined when this Node's AsyncResource does not carry the two symbols. */
export const keptTickObject: object | undefined = (() => {
  if (asyncId === undefined || triggerId === undefined) return undefined;
  // A real entry first, so the object below follows Node's transitions instead of making them.
  process.nextTick(() => {});
  return { [asyncId]: ids[0], [triggerId]: ids[1], callback: () => {}, args: undefined };
})();
