import { ServerResponse, validateHeaderName, validateHeaderValue, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';

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
const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};

const API_HEADERS: Readonly<Record<string, string>> = { ...BROWSER_HEADERS, 'content-security-policy': "default-src 'none'; frame-ancestors 'none'" };

/** The docs UI is an HTML page with its own scripts and styles: no CSP of ours, and a referrer policy. */
const DOCS_HEADERS: Readonly<Record<string, string>> = { ...BROWSER_HEADERS, 'referrer-policy': 'no-referrer' };

/** What a JSON response gets when its route set none of these headers itself: nearly every one. */
const API_DEFAULTS: Readonly<Record<string, string>> = { ...API_HEADERS, 'cache-control': 'no-store' };
const API_DEFAULT_NAMES = Object.keys(API_DEFAULTS);

/**
 * API_DEFAULTS as the lines of a response head, checked once here with Node's own validators.
 * Handing Node these five headers one by one cost every response ~9k instructions, 10 % of a
 * cached GET /auth/me (callgrind): per header a name and a value regex, a string concatenation
 * and a property added to the reply's header object. As one constant block they cost one
 * concatenation.
 */
const API_BLOCK = Object.entries(API_DEFAULTS).map(([name, value]) => {
  validateHeaderName(name);
  validateHeaderValue(name, value);
  return `${name}: ${value}\r\n`;
}).join('');

/**
 * Node's ServerResponse builds the head in `_storeHeader(statusLine, headers)`, which starts from
 * the status line and appends each header; the block goes right after the status line. The
 * method is Node's own and undocumented (checked on Node 20). Where it is missing the class
 * takes the public path for every response, so only the cost changes. Were a release to stop
 * calling it, the block would go unwritten: test/http/security-headers.test.ts checks every
 * header on the wire, so that release fails there first.
 */
type StoreHeader = (this: ServerResponse, firstLine: string, headers: unknown) => void;
const storeHeader = (ServerResponse.prototype as unknown as { _storeHeader?: StoreHeader })._storeHeader;

/**
 * The response class of our HTTP server (Node's `ServerResponse` option of `createServer`, passed
 * through Fastify's `http` option). Adding the headers here, as Node writes the head, costs a
 * constant string for an API response whose route set none of them (nearly all), and a few
 * property writes otherwise; an `onSend` hook costs Fastify's hook runner and a `reply.header()`
 * per header (~3k instructions per request, 2 % of a cached /auth/me, measured with callgrind).
 */
export class SecureResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  /** API_BLOCK once writeHead has found that this response takes all the defaults, else ''. */
  #block = '';

  override writeHead(statusCode: number, statusMessage?: string, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  override writeHead(statusCode: number, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  override writeHead(
    statusCode: number,
    messageOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    const given = typeof messageOrHeaders === 'string' ? headers : messageOrHeaders;
    const ours = this.req.url?.startsWith('/docs') ? DOCS_HEADERS : API_HEADERS;
    this.#block = '';
    if (given !== undefined && !Array.isArray(given)) {
      // Fastify hands over its own header object of this reply, whose keys are lower case, as
      // the last thing it does with it. What a route set with reply.header() wins, and so does
      // a cache-control set either way.
      if (ours === API_HEADERS && storeHeader !== undefined && this.#takesAllDefaults(given)) {
        this.#block = API_BLOCK;
      } else {
        // Node merges this object over what setHeader stored, so a default must not go in where
        // setHeader already put that header.
        for (const name in ours) if (given[name] === undefined && !this.hasHeader(name)) given[name] = ours[name];
        if (given['cache-control'] === undefined && !this.hasHeader('cache-control')) given['cache-control'] = 'no-store';
      }
    } else {
      // Headers set with setHeader (or none at all): the same defaults, through the public API.
      for (const name in ours) if (!this.hasHeader(name)) this.setHeader(name, ours[name]!);
      if (!this.hasHeader('cache-control')) this.setHeader('cache-control', 'no-store');
    }
    return typeof messageOrHeaders === 'string' ? super.writeHead(statusCode, messageOrHeaders, given) : super.writeHead(statusCode, given);
  }

  /** Node's head builder, with the block (if any) after the status line. */
  _storeHeader(firstLine: string, headers: unknown): void {
    storeHeader!.call(this, this.#block === '' ? firstLine : firstLine + this.#block, headers);
  }

  /** True when neither the reply's header object nor setHeader holds any header of API_DEFAULTS. */
  #takesAllDefaults(given: OutgoingHttpHeaders): boolean {
    for (const name of API_DEFAULT_NAMES) if (given[name] !== undefined || this.hasHeader(name)) return false;
    return true;
  }
}
