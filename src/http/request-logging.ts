/**
 * Per-request logging that costs nothing when it writes nothing. Fastify gives every request a
 * child logger bound to its request id; a pino child (bindings serialized and redacted up front)
 * and the two request lines Fastify logs at `info` are a measurable share of a cached
 * `GET /auth/me` (docs/benchmarks.md). So:
 * - request lines ("incoming request", "request completed") are written only when `info` is
 *   enabled, as before, and skipped without building their objects when it is not;
 * - the child logger is made on the first line a request actually writes. Below `info`, a
 *   request that logs nothing (nearly all of them) never makes one.
 */
import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, LevelWithSilentOrString, Logger } from 'pino';
import pino from 'pino';

export function requestLogging(level: string): Pick<FastifyServerOptions, 'childLoggerFactory' | 'logController'> {
  const info = pino.levels.values.info!;
  return {
    logController: new LogController({ disableRequestLogging: !((pino.levels.values[level] ?? Infinity) <= info) }),
    childLoggerFactory: lazyChildLogger,
  };
}

const lazyChildLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  // A route-level level or serializers change what the child logs: make it as usual then.
  options.level !== undefined || options.serializers !== undefined
    ? logger.child(bindings, options)
    : new LazyChildLogger(logger as Logger, bindings, options);

type LogArgs = [unknown, ...unknown[]];

class LazyChildLogger implements FastifyBaseLogger {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  #child: FastifyBaseLogger | undefined;

  constructor(parent: Logger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  get level(): LevelWithSilentOrString {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#real().level = level;
  }

  fatal(...args: LogArgs): void { this.#write('fatal', args); }
  error(...args: LogArgs): void { this.#write('error', args); }
  warn(...args: LogArgs): void { this.#write('warn', args); }
  info(...args: LogArgs): void { this.#write('info', args); }
  debug(...args: LogArgs): void { this.#write('debug', args); }
  trace(...args: LogArgs): void { this.#write('trace', args); }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options);
  }

  #write(level: Level, args: LogArgs): void {
    if (this.#child === undefined && !this.#parent.isLevelEnabled(level)) return;
    (this.#real()[level] as (...args: LogArgs) => void)(...args);
  }

  #real(): FastifyBaseLogger {
    return (this.#child ??= this.#parent.child(this.#bindings, this.#options));
  }
}
