import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';

/**
 * Security headers on every response the server writes: routes, 404s, errors, and the 503s Fastify
 * writes itself while closing. Token responses must never be cached by browsers or proxies
 * (RFC 6749 §5.1), so `no-store` is the default unless a route sets its own `cache-control`.
 *
 * API responses are JSON, which a browser never renders as a page here: `nosniff` stops it being
 * sniffed as HTML or script, and the CSP means that even if it were shown as a document it could
 * load and run nothing and could not be framed (`x-frame-options` says the same to browsers older
 * than `frame-ancestors`). `cross-origin-resource-policy` keeps other origins from embedding it.
 * `referrer-policy` is left to the HTML pages: a JSON response makes no requests (the CSP forbids
 * every load), so there is no Referer for it to govern, and each header costs every response
 * ~2k instructions in Node's header validation (callgrind).
 */

/** What every response gets, JSON or HTML. */
const BROWSER_HEADERS: OutgoingHttpHeaders = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};

const API_HEADERS: OutgoingHttpHeaders = { ...BROWSER_HEADERS, 'content-security-policy': "default-src 'none'; frame-ancestors 'none'" };

/** The docs UI is an HTML page with its own scripts and styles: no CSP of ours, and a referrer policy. */
const DOCS_HEADERS: OutgoingHttpHeaders = { ...BROWSER_HEADERS, 'referrer-policy': 'no-referrer' };

/**
 * The response class of our HTTP server (Node's `ServerResponse` option of `createServer`, passed
 * through Fastify's `http` option). Adding the headers here, as Node writes the head, costs a few
 * property writes; an `onSend` hook costs Fastify's hook runner and a `reply.header()` per header
 * (~3k instructions per request, 2 % of a cached /auth/me, measured with callgrind).
 */
export class SecureResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  override writeHead(statusCode: number, statusMessage?: string, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  override writeHead(statusCode: number, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  override writeHead(
    statusCode: number,
    messageOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    const given = typeof messageOrHeaders === 'string' ? headers : messageOrHeaders;
    const ours = this.req.url?.startsWith('/docs') ? DOCS_HEADERS : API_HEADERS;
    if (given !== undefined && !Array.isArray(given)) {
      // Fastify hands over its own header object of this reply, whose keys are lower case, as
      // the last thing it does with it. What a route set with reply.header() wins, and so does
      // a cache-control set either way.
      for (const name in ours) given[name] ??= ours[name];
      if (given['cache-control'] === undefined && !this.hasHeader('cache-control')) given['cache-control'] = 'no-store';
    } else {
      // Headers set with setHeader (or none at all): the same defaults, through the public API.
      for (const name in ours) if (!this.hasHeader(name)) this.setHeader(name, ours[name]!);
      if (!this.hasHeader('cache-control')) this.setHeader('cache-control', 'no-store');
    }
    return typeof messageOrHeaders === 'string' ? super.writeHead(statusCode, messageOrHeaders, given) : super.writeHead(statusCode, given);
  }
}
