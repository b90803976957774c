/** JWKS, liveness and readiness. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../../services.js';

/** How long a store may take to answer a readiness ping before it counts as down. */
const READY_TIMEOUT_MS = 2_000;
/** Verifiers may cache the JWKS this long; rotation publishes keys at least one token lifetime ahead. */
const JWKS_MAX_AGE_S = 300;

export const operationRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.get('/.well-known/jwks.json', {
    schema: {
      tags: ['keys'], summary: 'Public keys that verify access tokens (RFC 7517)',
      response: { 200: Type.Object({ keys: Type.Array(Type.Object({ kid: Type.String(), alg: Type.String(), use: Type.Literal('sig') }, { additionalProperties: Type.String() })) }) },
    },
  }, async (_request, reply) => {
    reply.header('cache-control', `public, max-age=${Math.min(JWKS_MAX_AGE_S, services.config.accessTtl)}`);
    return services.keys.currentJwks();
  });

  app.get('/healthz', {
    schema: { tags: ['operations'], summary: 'The process serves', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: {
      tags: ['operations'], summary: 'Every configured store answers',
      response: {
        200: Type.Object({ status: Type.Literal('ok'), stores: Type.Record(Type.String(), Type.String()) }),
        503: Type.Object({ error: Type.Literal('unavailable'), message: Type.String(), stores: Type.Record(Type.String(), Type.String()) }),
      },
    },
  }, async (_request, reply) => {
    const results = await Promise.all(services.stores.health.map(async (h) => [h.name, await ping(h.ping)] as const));
    const stores = Object.fromEntries(results);
    const down = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
    if (down.length === 0) return { status: 'ok' as const, stores };
    return reply.code(503).send({ error: 'unavailable' as const, message: `store unavailable: ${down.join(', ')}`, stores });
  });
};

async function ping(check: () => Promise<void>): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => { timer = setTimeout(resolve, READY_TIMEOUT_MS, 'down'); });
  try {
    return await Promise.race([check().then(() => 'ok' as const, () => 'down' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
