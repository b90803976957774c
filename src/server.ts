/**
 * Boots one server process: stores, services, the HTTP app, listen. Closing finishes in-flight
 * requests (Fastify stops accepting, answers 503 to new ones on kept-alive sockets) and then
 * closes the stores.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { LoggerSettings } from './http/request-logging.js';
import type { Config } from './config.js';
import { systemClock } from './core/clock.js';
import { createServices } from './services.js';
import { openStores } from './store/open.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  /** The address actually bound (PORT=0 picks a free port). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Fields that could carry a credential are removed from every log line. Fastify's default request
 * serializer logs no headers or bodies; this is the backstop if anyone logs more.
 */
const REDACT = [
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  '*.password', '*.current_password', '*.new_password', '*.refresh_token', '*.access_token', '*.passwordHash', '*.password_hash',
];

export function loggerOptions(config: Config): LoggerSettings {
  return { level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' } };
}

export async function startServer(config: Config, options?: { migrate?: boolean }): Promise<RunningServer> {
  const stores = await openStores(config, options);
  try {
    const services = await createServices(config, stores, { clock: systemClock });
    const app = await buildApp(services, { logger: loggerOptions(config) });
    const url = await app.listen({ port: config.port, host: config.host });
    return {
      app,
      url,
      close: async () => {
        await app.close();
        await stores.close();
      },
    };
  } catch (error) {
    await stores.close();
    throw error;
  }
}
