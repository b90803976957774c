/**
 * Knowing when a client has given up on a request, so work done only for its answer (an argon2
 * hash, tens of milliseconds of a thread) is not started for nobody.
 */
import type { FastifyReply } from 'fastify';

/** The reason a request's signal aborts with: its client closed the connection before the answer. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection before the response');
    this.name = 'ClientGoneError';
  }
}

/**
 * A signal that aborts, with a ClientGoneError, when the connection closes before the response
 * has been written. The response's own `close` event, not the request's: Fastify's
 * `request.signal` listens on the request, whose `close` comes as soon as its body has been read
 * (Node 20), so it reads as aborted for every request with a body.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  response.once('close', () => {
    if (!response.writableFinished) controller.abort(new ClientGoneError());
  });
  return controller.signal;
}
