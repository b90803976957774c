/** The example protected resource. Every route needs an access token; ownership is per user. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../../services.js';
import { authenticator, principalOf } from '../plugins/authenticate.js';
import { NoContent, errors } from '../schemas/common.js';
import { NewTodo, Todo, TodoList, TodoParams, TodoPatch } from '../schemas/todos.js';
import { todoBody } from '../present.js';

export const todoRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { todos } = services;
  app.addHook('preHandler', authenticator(services.sessions));
  const security = [{ bearer: [] }];

  app.get('/todos', {
    schema: { tags: ['todos'], summary: 'Your todos, newest first', security, response: { 200: TodoList, ...errors(401) } },
  }, async (request) => ({ todos: (await todos.list(principalOf(request).sub)).map(todoBody) }));

  app.post('/todos', {
    schema: { tags: ['todos'], summary: 'Create a todo', security, body: NewTodo, response: { 201: Todo, ...errors(400, 401, 413, 415) } },
  }, async (request, reply) => reply.code(201).send(todoBody(await todos.create(principalOf(request).sub, request.body.title))));

  app.get('/todos/:id', {
    schema: { tags: ['todos'], summary: 'One of your todos', security, params: TodoParams, response: { 200: Todo, ...errors(401, 404) } },
  }, async (request) => todoBody(await todos.get(principalOf(request).sub, request.params.id)));

  app.patch('/todos/:id', {
    schema: { tags: ['todos'], summary: 'Change a todo', security, params: TodoParams, body: TodoPatch, response: { 200: Todo, ...errors(400, 401, 404, 413, 415) } },
  }, async (request) => todoBody(await todos.update(principalOf(request).sub, request.params.id, request.body)));

  app.delete('/todos/:id', {
    schema: { tags: ['todos'], summary: 'Delete a todo', security, params: TodoParams, response: { 204: NoContent, ...errors(401, 404) } },
  }, async (request, reply) => {
    await todos.remove(principalOf(request).sub, request.params.id);
    return reply.code(204).send(null);
  });
};
