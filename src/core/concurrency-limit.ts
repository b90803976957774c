import { AppError } from '../errors.js';

/**
 * Runs at most `max` tasks at once and queues up to `maxQueued` more; past that, callers get
 * `rate_limited` at once instead of piling up. Used for argon2: a login flood then uses a bounded
 * share of the CPU, and authenticated requests keep their latency.
 *
 * A caller may pass an AbortSignal: once it aborts, the task is not started (a waiting caller
 * leaves the queue at once) and the call rejects with the signal's reason. The HTTP layer aborts
 * when the client has closed its connection, so a flood of clients that give up (or time out)
 * while queued costs no hashing, and the callers still waiting get the threads sooner.
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

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.#running >= this.#max) {
      if (this.#waiting.length >= this.#maxQueued) throw new AppError('rate_limited', 'The server is busy; try again shortly.', { headers: { 'retry-after': '1' } });
      await this.#turn(signal);
    } else {
      this.#running++;
    }
    try {
      // The signal may have aborted while the slot was being handed over.
      signal?.throwIfAborted();
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }

  /** Resolves when a finishing task hands this caller its slot; rejects if `signal` aborts first. */
  #turn(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!signal) {
        this.#waiting.push(resolve);
        return;
      }
      const leave = (): void => {
        const at = this.#waiting.indexOf(go);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(signal.reason);
      };
      const go = (): void => {
        signal.removeEventListener('abort', leave);
        resolve();
      };
      this.#waiting.push(go);
      signal.addEventListener('abort', leave, { once: true });
    });
  }
}
