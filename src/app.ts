/**
 * The HTTP application as a Fastify instance: external plugins, then ours, then routes. Knows
 * HTTP; everything about tokens, sessions and storage is in `services`.
 */
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { RateLimits } from './core/rate-limits.js';
import type { Services } from './services.js';
import { registerErrorHandling } from './http/plugins/errors.js';
import { requestLogging, type LoggerSettings } from './http/request-logging.js';
import { SecureResponse } from './http/plugins/security-headers.js';
import { learnPeerAddressOnConnect } from './http/uniform-sockets.js';
import { authRoutes } from './http/routes/auth.js';
import { operationRoutes } from './http/routes/operations.js';
import { sessionRoutes } from './http/routes/sessions.js';
import { todoRoutes } from './http/routes/todos.js';
import { ErrorBody } from './http/schemas/common.js';

export interface AppOptions {
  /** pino options (and `stream`); none: no logging at all. */
  readonly logger?: LoggerSettings;
}

export async function buildApp(services: Services, options?: AppOptions): Promise<FastifyInstance> {
  const { config } = services;
  const logging = requestLogging(options?.logger ?? false);
  const app = Fastify({
    ...logging.fastify,
    bodyLimit: config.bodyLimit,
    // Every response carries the security headers (src/http/plugins/security-headers.ts).
    http: { ServerResponse: SecureResponse },
    trustProxy: trustProxyOption(config.trustProxy),
    return503OnClosing: true,
    ajv: {
      customOptions: {
        // Reject unknown fields and wrong types instead of silently dropping or converting them.
        removeAdditional: false,
        coerceTypes: false,
        allErrors: false,
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Every socket in one hidden class, whichever routes it serves (src/http/uniform-sockets.ts).
  learnPeerAddressOnConnect(app.server);
  // Only JSON (and, on login/register, forms). Plain text bodies get 415 like any other type.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('principal', null);
  registerErrorHandling(app, logging.write);
  // CORS stays closed (no Access-Control-* headers) unless origins are configured.
  if (config.corsOrigins.length > 0) await app.register(cors, { origin: [...config.corsOrigins], methods: ['GET', 'POST', 'PATCH', 'DELETE'], maxAge: 600 });

  app.addSchema(ErrorBody);
  await app.register(swagger, {
    openapi: {
      info: { title: 'tollgate', version: '1', description: 'Self-hosted JWT authentication server. Error codes: docs/errors.md.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const limits = new RateLimits(services.stores.counters, config.rateLimit, services.clock);
  await app.register(authRoutes, { services, limits });
  await app.register(sessionRoutes, { services });
  await app.register(todoRoutes, { services });
  await app.register(operationRoutes, { services });
  return app;
}

/** Fastify's types take no hop count; proxy-addr's meaning of a number n is "trust the n nearest hops". */
function trustProxyOption(value: Services['config']['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof value === 'number' ? (_address, hop) => hop < value : value;
}
