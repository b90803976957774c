import type { FastifyInstance } from 'fastify';

/**
 * Headers for a JSON API (helmet's defaults target HTML pages; this is the subset that matters
 * here, set in one hook). Token responses must never be cached by browsers or proxies
 * (RFC 6749 §5.1), so `no-store` is the default for everything unless a route says otherwise.
 */
const STATIC_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

const { 'content-security-policy': _csp, ...DOCS_HEADERS } = STATIC_HEADERS;

export function registerSecurityHeaders(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every response, and a promise per request shows.
  app.addHook('onSend', (request, reply, payload, done) => {
    // The docs UI is an HTML page with its own scripts and styles; it keeps its own CSP.
    reply.headers(request.url.startsWith('/docs') ? DOCS_HEADERS : STATIC_HEADERS);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
}
