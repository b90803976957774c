/**
 * A value that is there at once or comes later. The protected-request path answers from
 * in-process caches almost always; returning the value itself then (instead of a promise that is
 * already settled) saves a promise and a microtask hop per step: on a bare Fastify route, five
 * awaits cost ~10 % of its throughput (docs/benchmarks.md). Everything off the hot path simply
 * awaits, which works for both.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `f(value)` now when the value is here, or once it arrives; errors propagate the same way. */
export function whenReady<T, U>(value: MaybePromise<T>, f: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(f) : f(value);
}
