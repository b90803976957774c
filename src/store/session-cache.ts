/**
 * An in-process cache of live sessions in front of a shared session store (Redis), so the check
 * behind every authenticated request is a memory lookup instead of a network round trip.
 *
 * Correctness rests on three rules:
 * 1. Every change this process makes is applied to its own cache before the call returns. Every
 *    change that ends a session is also published to every other process (InvalidationBus)
 *    before the HTTP response is sent. A rotation is not published: it changes only fields the
 *    check behind a request does not read (generation, refresh hash, rotation times) and moves
 *    the idle expiry later, so another process's older copy lapses sooner, never later (and
 *    GET /auth/me there may show the older expiry for up to MAX_ENTRY_AGE_MS). Callers that need
 *    the rotation fields exact ask for a `fresh` read. Publishing every rotation cost a
 *    PUBLISH and its delivery to every process on each refresh (docs/benchmarks.md).
 * 2. The cache is used only while the bus is known to deliver: when the subscription drops, the
 *    cache is emptied and bypassed until it is back, so a missed message cannot leave a revoked
 *    session cached.
 * 3. A lookup that raced with an invalidation is not cached (an epoch counter detects it), and
 *    no entry is trusted for longer than MAX_ENTRY_AGE_MS, which bounds staleness even if a
 *    publish were lost in transit.
 * Concurrent misses for one session share one store read (an entry aging out under load would
 * otherwise send every in-flight request to the store at once), but only within one epoch: a
 * request that arrives after an invalidation never joins a read that started before it.
 * An entry can be older than the store's record only in its rotation fields and its idle expiry
 * (rule 1); an older expiry makes the entry lapse sooner and be re-read, never later.
 */
import type { MaybePromise } from '../core/maybe-promise.js';
import type { RotateOutcome, RotateRequest, SessionRecord, SessionStore } from './types.js';

export type Invalidation = { readonly session: string } | { readonly user: string; readonly except?: string };

export interface InvalidationBus {
  /** True while invalidations from other processes are known to arrive. */
  readonly live: boolean;
  publish(message: Invalidation): Promise<void>;
  /** `message` for each invalidation from another process; `reset` when delivery was interrupted or resumed. */
  subscribe(handlers: { message(m: Invalidation): void; reset(): void }): void;
}

const MAX_ENTRIES = 50_000;
/** The safety net behind rule 3: even a cached live session is re-read at least this often. */
const MAX_ENTRY_AGE_MS = 2_000;

interface Entry {
  readonly session: SessionRecord;
  readonly cachedAt: number;
}

export class CachedSessionStore implements SessionStore {
  readonly #inner: SessionStore;
  readonly #bus: InvalidationBus;
  readonly #entries = new Map<string, Entry>();
  readonly #reads = new Map<string, { readonly epoch: number; readonly session: Promise<SessionRecord | null> }>();
  #epoch = 0;

  constructor(inner: SessionStore, bus: InvalidationBus) {
    this.#inner = inner;
    this.#bus = bus;
    bus.subscribe({ message: (m) => this.#apply(m), reset: () => this.#clear() });
  }

  /** A hit answers synchronously: this is the check behind every authenticated request. */
  getSession(id: string, now: number, options?: { fresh?: boolean }): MaybePromise<SessionRecord | null> {
    // Straight to the store and not remembered: remembering would need the same epoch rules as a
    // miss, and fresh reads are rare (logout with a refresh token).
    if (options?.fresh) return this.#inner.getSession(id, now, options);
    if (this.#bus.live) {
      const entry = this.#entries.get(id);
      if (entry && now - entry.cachedAt < MAX_ENTRY_AGE_MS && now < entry.session.expiresAt && now < entry.session.absoluteExpiresAt) {
        return entry.session;
      }
    }
    return this.#load(id, now);
  }

  async #load(id: string, now: number): Promise<SessionRecord | null> {
    const shared = this.#reads.get(id);
    if (shared && shared.epoch === this.#epoch) {
      const session = await shared.session;
      // The read was made for an earlier `now`: apply this caller's own clock to the expiry.
      return session && now < session.expiresAt && now < session.absoluteExpiresAt ? session : null;
    }
    const epoch = this.#epoch;
    const pending = Promise.resolve(this.#inner.getSession(id, now));
    this.#reads.set(id, { epoch, session: pending });
    try {
      const session = await pending;
      if (session && this.#bus.live && epoch === this.#epoch) this.#remember(session, now);
      return session;
    } finally {
      if (this.#reads.get(id)?.session === pending) this.#reads.delete(id);
    }
  }

  createSession(session: SessionRecord): Promise<void> {
    return this.#inner.createSession(session);
  }

  async rotateSession(request: RotateRequest): Promise<RotateOutcome> {
    const outcome = await this.#inner.rotateSession(request);
    // Reuse ends the session everywhere. A rotation or a grace answer only drops this process's
    // copy (rule 1), so the next read here sees the new generation.
    if (outcome.outcome === 'reused') await this.#invalidate({ session: request.sessionId });
    else if (outcome.outcome !== 'invalid' && outcome.outcome !== 'deeper') this.#apply({ session: request.sessionId });
    return outcome;
  }

  listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return this.#inner.listSessions(userId, now);
  }

  async deleteSession(userId: string, id: string): Promise<boolean> {
    const deleted = await this.#inner.deleteSession(userId, id);
    if (deleted) await this.#invalidate({ session: id });
    return deleted;
  }

  async deleteUserSessions(userId: string, options?: { except?: string }): Promise<number> {
    const count = await this.#inner.deleteUserSessions(userId, options);
    await this.#invalidate(options?.except === undefined ? { user: userId } : { user: userId, except: options.except });
    return count;
  }

  async #invalidate(message: Invalidation): Promise<void> {
    this.#apply(message);
    await this.#bus.publish(message);
  }

  #apply(message: Invalidation): void {
    this.#epoch++;
    if ('session' in message) {
      this.#entries.delete(message.session);
      return;
    }
    for (const [id, entry] of this.#entries) {
      if (entry.session.userId === message.user && id !== message.except) this.#entries.delete(id);
    }
  }

  #clear(): void {
    this.#epoch++;
    this.#entries.clear();
  }

  #remember(session: SessionRecord, now: number): void {
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(session.id, { session, cachedAt: now });
  }
}
