/**
 * Session invalidations between tollgate processes over Redis pub/sub (channel
 * `<prefix>invalidate`). Works on one node, Sentinel, and a Cluster (PUBLISH reaches every node).
 * The subscriber is its own connection; while it is not subscribed, `live` is false and the
 * session cache is bypassed (see src/store/session-cache.ts).
 */
import { Cluster, type Redis } from 'ioredis';
import type { Invalidation, InvalidationBus } from '../session-cache.js';

export class RedisInvalidationBus implements InvalidationBus {
  readonly #publisher: Redis | Cluster;
  readonly #subscriber: Redis | Cluster;
  readonly #channel: string;
  #live = false;
  #handlers: Parameters<InvalidationBus['subscribe']>[0] | undefined;

  constructor(client: Redis | Cluster, options?: { prefix?: string }) {
    this.#publisher = client;
    this.#channel = `${options?.prefix ?? 'tg:'}invalidate`;
    // Narrowed so each class's own duplicate() is called (their signatures differ).
    this.#subscriber = client instanceof Cluster ? client.duplicate() : client.duplicate();
    this.#subscriber.on('error', () => undefined);
    this.#subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.#channel) this.#receive(text);
    });
    // Any interruption may have lost messages: stop trusting the cache until subscribed again.
    for (const event of ['close', 'reconnecting', 'end']) this.#subscriber.on(event, () => this.#setLive(false));
    this.#subscriber.on('ready', () => void this.#subscribe());
  }

  get live(): boolean {
    return this.#live;
  }

  subscribe(handlers: Parameters<InvalidationBus['subscribe']>[0]): void {
    this.#handlers = handlers;
  }

  async publish(message: Invalidation): Promise<void> {
    await this.#publisher.publish(this.#channel, JSON.stringify(message));
  }

  async close(): Promise<void> {
    this.#setLive(false);
    this.#subscriber.disconnect();
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.#channel);
      this.#setLive(true);
    } catch {
      this.#setLive(false);
    }
  }

  #setLive(live: boolean): void {
    if (live === this.#live) return;
    this.#live = live;
    this.#handlers?.reset();
  }

  #receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const m = message as { session?: unknown; user?: unknown; except?: unknown };
    if (typeof m.session === 'string') this.#handlers?.message({ session: m.session });
    else if (typeof m.user === 'string') this.#handlers?.message(typeof m.except === 'string' ? { user: m.user, except: m.except } : { user: m.user });
    // Anything else on our channel is not ours to interpret: drop the whole cache to be safe.
    else this.#handlers?.reset();
  }
}
