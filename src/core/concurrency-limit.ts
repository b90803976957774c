import { AppError } from '../errors.js';

/**
 * Runs at most `max` tasks at once and queues up to `maxQueued` more; past that, callers get
 * `rate_limited` at once instead of piling up. Used for argon2: a login flood then uses a bounded
 * share of the CPU, and authenticated requests keep their latency.
 */
export class ConcurrencyLimit {
  readonly #max: number;
  readonly #maxQueued: number;
  readonly #waiting: Array<() => void> = [];
  #running = 0;

  constructor(max: number, maxQueued: number) {
    this.#max = max;
    this.#maxQueued = maxQueued;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#max) {
      if (this.#waiting.length >= this.#maxQueued) throw new AppError('rate_limited', 'The server is busy; try again shortly.', { headers: { 'retry-after': '1' } });
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
