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

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    // The docs UI is an HTML page with its own scripts and styles; it keeps its own CSP.
    const isDocs = request.url.startsWith('/docs');
    for (const [name, value] of Object.entries(STATIC_HEADERS)) {
      if (!(isDocs && name === 'content-security-policy')) reply.header(name, value);
    }
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
}
