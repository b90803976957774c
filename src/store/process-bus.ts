/**
 * Session invalidations between the processes of one `tollgate serve` (SQLite mode): worker →
 * primary → every other worker over Node's cluster IPC channel, which is ordered and lossless
 * while the worker lives. A single process needs no transport: its own cache is updated before
 * each call returns. Several *servers* on one SQLite file are refused at start (sqlite-lock.ts),
 * so no change can come from a process this bus does not reach.
 */
import cluster from 'node:cluster';
import type { Invalidation, InvalidationBus } from './session-cache.js';

const TYPE = 'tollgate:invalidate';

interface Envelope {
  readonly type: typeof TYPE;
  readonly message: Invalidation;
}

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === TYPE;
}

export class ProcessBus implements InvalidationBus {
  #handlers: Parameters<InvalidationBus['subscribe']>[0] | undefined;

  constructor() {
    if (cluster.isWorker) {
      process.on('message', (value: unknown) => {
        if (isEnvelope(value)) this.#handlers?.message(value.message);
      });
      process.on('disconnect', () => this.#handlers?.reset());
    }
  }

  /** A worker that lost its primary can no longer hear the others: stop trusting the cache. */
  get live(): boolean {
    return !cluster.isWorker || process.connected;
  }

  subscribe(handlers: Parameters<InvalidationBus['subscribe']>[0]): void {
    this.#handlers = handlers;
  }

  async publish(message: Invalidation): Promise<void> {
    if (!cluster.isWorker) return;
    await new Promise<void>((resolve, reject) => {
      process.send!({ type: TYPE, message } satisfies Envelope, undefined, {}, (error) => (error ? reject(error) : resolve()));
    });
  }
}

/** In the primary: forward each worker's invalidations to every other worker. */
export function relayInvalidations(): void {
  cluster.on('message', (from, value: unknown) => {
    if (!isEnvelope(value)) return;
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker && worker !== from && worker.isConnected()) worker.send(value);
    }
  });
}
