/**
 * Password hashing with argon2id. The binding runs each hash on libuv's thread pool, so hashing
 * never blocks the event loop that serves authenticated requests.
 */
import argon2 from 'argon2';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { AppError } from '../errors.js';

export interface Argon2Params {
  /** KiB of memory per hash. */
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, argon2id option 2: 19 MiB, 2 iterations, 1 lane. */
export const OWASP_ARGON2: Argon2Params = Object.freeze({ memoryCost: 19456, timeCost: 2, parallelism: 1 });

/** Most bytes of password we hash; longer input is refused before any work (hashing is costly). */
export const MAX_PASSWORD_BYTES = 1024;

export interface HasherOptions {
  /** Hashes computed at once; the rest wait their turn. */
  readonly concurrency: number;
  /** Hashes allowed to wait; beyond this callers get `rate_limited`. */
  readonly maxQueued: number;
}

export class PasswordHasher {
  readonly #params: Argon2Params;
  readonly #limit: ConcurrencyLimit;
  #dummyHash: Promise<string> | undefined;

  constructor(params: Argon2Params = OWASP_ARGON2, options: HasherOptions = { concurrency: 1, maxQueued: 256 }) {
    this.#params = params;
    this.#limit = new ConcurrencyLimit(options.concurrency, options.maxQueued);
  }

  /** `signal`: when it aborts before the hash starts, no hash is made and this rejects with its reason. */
  hash(password: string, signal?: AbortSignal): Promise<string> {
    return this.#limit.run(() => argon2.hash(normalize(password), { type: argon2.argon2id, ...this.#params }), signal);
  }

  /** `signal`: as for hash(). */
  async verify(hash: string, password: string, signal?: AbortSignal): Promise<boolean> {
    try {
      return await this.#limit.run(() => argon2.verify(hash, normalize(password)), signal);
    } catch (error) {
      if (error instanceof AppError || (signal?.aborted && error === signal.reason)) throw error;
      return false; // a corrupt stored hash is a failed login, never a 500 that reveals the user exists
    }
  }

  /** True when the stored hash was made with other parameters; login then re-hashes it. */
  needsRehash(hash: string): boolean {
    return argon2.needsRehash(hash, { ...this.#params });
  }

  /**
   * Spends the same time as verifying a real hash, for logins of unknown users, so response
   * time does not tell which usernames exist. Always false.
   */
  async verifyNobody(password: string, signal?: AbortSignal): Promise<false> {
    // Not under `signal`: the dummy hash is made once and shared by every later call.
    this.#dummyHash ??= this.hash('tollgate-timing-equaliser');
    await this.verify(await this.#dummyHash, password, signal);
    return false;
  }
}

/**
 * NFKC so that the same password typed on two keyboards (composed vs decomposed accents, full-width
 * digits) verifies the same, as NIST SP 800-63B §5.1.1.2 recommends.
 */
function normalize(password: string): string {
  return password.normalize('NFKC');
}
