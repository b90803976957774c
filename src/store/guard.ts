import { AppError, StoreUnavailableError } from '../errors.js';

/**
 * Wraps every method of a store so that any failure of the engine (connection refused, timeout,
 * disk error) surfaces as StoreUnavailableError naming the store: the HTTP layer answers 503
 * `unavailable` and logs the cause, and no driver text ever reaches a client. Built once per
 * store (no Proxy trap per call), and a method that answers synchronously (a cache hit) still
 * does: the wrapper adds no promise of its own.
 */
export function guardStore<T extends object>(name: string, store: T): T {
  const guarded: Record<string, unknown> = {};
  const unavailable = (error: unknown): never => {
    if (error instanceof AppError || error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(name, error);
  };
  for (const key of methodNames(store)) {
    const method = (store as Record<string, (...args: unknown[]) => unknown>)[key]!.bind(store);
    guarded[key] = (...args: unknown[]): unknown => {
      let result: unknown;
      try {
        result = method(...args);
      } catch (error) {
        unavailable(error);
      }
      return result instanceof Promise ? result.catch(unavailable) : result;
    };
  }
  return guarded as T;
}

function methodNames(object: object): string[] {
  const names = new Set<string>();
  for (let proto = Object.getPrototypeOf(object); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && typeof (object as Record<string, unknown>)[name] === 'function') names.add(name);
    }
  }
  return [...names];
}
