/**
 * Every accepted socket reads its peer address once, as it connects.
 *
 * Why: Node caches the peer address on the socket (`_peername`) the first time anything reads
 * `remoteAddress`, which here is `request.ip` (rate limits, the session's client info). Routes
 * that read it (login, refresh, …) and routes that do not (`GET /auth/me`) then leave sockets in
 * different hidden classes, and in different property orders. Node's stream, `net` and HTTP code
 * runs on every socket, and once its inline caches have seen more than four socket shapes they
 * turn megamorphic for good: a process that had served refreshes and then `GET /auth/me` ran at
 * 0.79–0.87 × bare Fastify against 0.89 × for a fresh one, and V8's IC log showed 62 sites, nearly
 * all in that code, megamorphic that a fresh process kept polymorphic. With the address read as
 * each socket connects, 9 were, only one of them (`Readable.resume`) in stream code. After the
 * same history, processes of this build did 1.00–1.17 × (median 1.05) the requests per second of
 * the build before (docs/benchmarks.md, "Run 10"). The cost is one getpeername per connection, not
 * per request.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export function learnPeerAddressOnConnect(server: Server): void {
  server.on('connection', (socket: Socket) => {
    void socket.remoteAddress;
  });
}
