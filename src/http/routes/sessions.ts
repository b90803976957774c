/** A user's sessions (one per login/device): list them, end any one. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '../../errors.js';
import type { Services } from '../../services.js';
import { authenticator, principalOf } from '../plugins/authenticate.js';
import { NoContent, errors } from '../schemas/common.js';
import { SessionList, SessionParams } from '../schemas/auth.js';
import { sessionBody } from '../present.js';

export const sessionRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { sessions } = services;
  app.addHook('preHandler', authenticator(sessions));

  app.get('/auth/sessions', {
    schema: { tags: ['sessions'], summary: "The caller's live sessions, newest first", security: [{ bearer: [] }], response: { 200: SessionList, ...errors(401) } },
  }, async (request) => {
    const { sub, sid } = principalOf(request);
    return { sessions: (await sessions.list(sub)).map((s) => sessionBody(s, sid)) };
  });

  app.delete('/auth/sessions/:id', {
    schema: {
      tags: ['sessions'], summary: 'End one of your sessions', security: [{ bearer: [] }],
      params: SessionParams, response: { 204: NoContent, ...errors(401, 404) },
    },
  }, async (request, reply) => {
    // Someone else's session id answers 404 like an unknown one: ids are not confirmed to exist.
    if (!(await sessions.revoke(principalOf(request).sub, request.params.id))) throw new AppError('not_found');
    return reply.code(204).send(null);
  });
};
