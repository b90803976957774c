/**
 * Brute-force limits for the credential endpoints: per client IP (every attempt, per route) and
 * per account name (failed logins). Fixed windows: a flood against one account blocks logins to
 * it for at most one window, never for good, and the owner can log in again when it passes.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Clock } from './clock.js';
import type { CounterStore } from '../store/types.js';

export interface RateLimitOptions {
  readonly perIp: number;
  readonly perAccount: number;
  /** Seconds. */
  readonly window: number;
}

export class RateLimits {
  readonly #counters: CounterStore;
  readonly #options: RateLimitOptions;
  readonly #clock: Clock;

  constructor(counters: CounterStore, options: RateLimitOptions, clock: Clock) {
    this.#counters = counters;
    this.#options = options;
    this.#clock = clock;
  }

  /** Counts one attempt on `route` from `ip`; throws `rate_limited` past the limit. */
  async hitIp(route: string, ip: string): Promise<void> {
    const { count, resetAt } = await this.#counters.increment(`ip:${route}:${ip}`, this.#options.window * 1000, this.#clock.now());
    if (count > this.#options.perIp) throw this.#limited(resetAt);
  }

  /** Throws `rate_limited` while the account has had too many failures in the current window. */
  async checkAccount(accountKey: string): Promise<void> {
    const state = await this.#counters.peek(this.#accountKey(accountKey), this.#clock.now());
    if (state && state.count >= this.#options.perAccount) throw this.#limited(state.resetAt);
  }

  async recordAccountFailure(accountKey: string): Promise<void> {
    await this.#counters.increment(this.#accountKey(accountKey), this.#options.window * 1000, this.#clock.now());
  }

  /** Account names are hashed so the counter store never holds a list of tried names. */
  #accountKey(name: string): string {
    return `acct:${createHash('sha256').update(name.normalize('NFKC').toLowerCase()).digest('base64url').slice(0, 22)}`;
  }

  #limited(resetAt: number): AppError {
    const seconds = Math.max(1, Math.ceil((resetAt - this.#clock.now()) / 1000));
    return new AppError('rate_limited', undefined, { headers: { 'retry-after': String(seconds) } });
  }
}
