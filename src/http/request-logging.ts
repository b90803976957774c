/**
 * Who writes the log lines of a request. Fastify's per-request logging (a child logger bound to
 * the request id, and listeners that time every response) costs about 4% of the CPU time of a
 * cached `GET /auth/me` even when nothing is written (CPU profile, docs/benchmarks.md). So:
 * - at `info` and more verbose (the default), Fastify owns the logger as usual and writes its two
 *   request lines ("incoming request", "request completed") under one `reqId`;
 * - above `info`, Fastify runs without a logger, and the lines our error handler writes go to a
 *   pino logger of ours, each carrying the request's `reqId`. Fastify's own diagnostics for
 *   programming errors (e.g. "Reply was already sent") are then not written; run at `info` to see
 *   them.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyRequest, FastifyServerOptions } from 'fastify';
import pino, { type DestinationStream, type LoggerOptions } from 'pino';

export type LogLevel = 'info' | 'warn' | 'error';
export type LoggerSettings = LoggerOptions & { stream?: DestinationStream };

export interface RequestLogging {
  /** Spread into Fastify's options. */
  readonly fastify: Pick<FastifyServerOptions, 'logger' | 'genReqId'>;
  /** Writes one line about `request`, with its request id. */
  write(request: FastifyRequest, level: LogLevel, fields: Record<string, unknown>, message: string): void;
}

const REQUEST_ID_LABEL = 'reqId';

export function requestLogging(settings: LoggerSettings | false): RequestLogging {
  const fastify = { genReqId: requestIds() };
  if (settings === false) return { fastify: { ...fastify, logger: false }, write: () => undefined };
  if (pino.levels.values[settings.level ?? 'info']! <= pino.levels.values.info!) {
    return { fastify: { ...fastify, logger: settings }, write: (request, level, fields, message) => request.log[level](fields, message) };
  }
  const { stream, ...options } = settings;
  const ownOptions = { ...options, serializers: { err: pino.stdSerializers.err, ...options.serializers } };
  const logger = stream ? pino(ownOptions, stream) : pino(ownOptions);
  return {
    fastify: { ...fastify, logger: false },
    write: (request, level, fields, message) => {
      if (logger.isLevelEnabled(level)) logger[level]({ [REQUEST_ID_LABEL]: request.id, ...fields }, message);
    },
  };
}

/**
 * Request ids unique across processes without a random UUID per request (randomUUID was about 2%
 * of a cached `GET /auth/me`): 48 random bits per process, then a counter. Ids only correlate log
 * lines; they are never sent to clients and grant nothing, so they need not be unguessable.
 */
function requestIds(): () => string {
  const prefix = `${randomBytes(6).toString('base64url')}-`;
  let next = 0;
  return () => prefix + (next++).toString(36);
}
