import type { CounterStore } from './types.js';

/** Counters are swept when the map grows past this, so a spray of IPs cannot grow memory without bound. */
const SWEEP_AT = 100_000;

/**
 * Rate-limit counters in this process's memory: the default without Redis. With several workers
 * or instances each keeps its own counts (limits are then per process); set REDIS_URL to share.
 */
export class MemoryCounterStore implements CounterStore {
  readonly #windows = new Map<string, { count: number; resetAt: number }>();

  async increment(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    let window = this.#windows.get(key);
    if (!window || window.resetAt <= now) {
      if (this.#windows.size >= SWEEP_AT) this.#sweep(now);
      window = { count: 0, resetAt: now + windowMs };
      this.#windows.set(key, window);
    }
    window.count++;
    return copy(window);
  }

  async peek(key: string, now: number): Promise<{ count: number; resetAt: number } | null> {
    const window = this.#windows.get(key);
    return window && window.resetAt > now ? copy(window) : null;
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(key);
    // Still full of live windows (an attack from very many addresses): drop the oldest half.
    if (this.#windows.size >= SWEEP_AT) [...this.#windows.keys()].slice(0, SWEEP_AT / 2).forEach((k) => this.#windows.delete(k));
  }
}

/**
 * A copy the caller may keep. Field by field, not `{ ...window }`: on Node 20 a spread copy soon
 * gets a hidden class of its own, and the rate limiter that reads every copy would go megamorphic.
 */
function copy(window: { count: number; resetAt: number }): { count: number; resetAt: number } {
  return { count: window.count, resetAt: window.resetAt };
}
