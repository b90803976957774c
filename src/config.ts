/**
 * Configuration: read once from the environment (and an optional `.env` file in the working
 * directory, whose values the real environment overrides), validated, frozen. Nothing else in
 * tollgate reads process.env. Every bad value is reported on its own line naming the variable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError } from './errors.js';
import { JWS_ALGS, type JwsAlg } from './core/jws.js';
import { isWeakSecret } from './core/weak-secrets.js';
import { usableCores } from './usable-cores.js';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** `sqlite:<path>` or a postgres:// URL. */
  readonly databaseUrl: string;
  /** Unset: sessions live in the database. */
  readonly redisUrl: string | undefined;
  readonly issuer: string;
  readonly audience: string;
  /** Durations are whole seconds. */
  readonly accessTtl: number;
  readonly refreshTtl: number;
  readonly sessionMaxAge: number;
  readonly refreshGrace: number;
  readonly clockLeeway: number;
  readonly jwtAlg: JwsAlg;
  readonly jwtSecret: string | undefined;
  readonly workers: number;
  readonly logLevel: string;
  /** Largest accepted request body in bytes. */
  readonly bodyLimit: number;
  /** Passed to Fastify's trustProxy: false, true, a hop count, or a list of addresses/CIDRs. */
  readonly trustProxy: boolean | number | string[];
  /** Origins allowed by CORS; empty means CORS stays closed. */
  readonly corsOrigins: readonly string[];
  readonly rateLimit: Readonly<RateLimitConfig>;
  /** argon2 hashes computed at once per process (the rest queue): keeps CPU for requests during a login flood. */
  readonly hashConcurrency: number;
  /** Nice value of every thread but the event loop (src/thread-priority.ts); 0 leaves them as they are. */
  readonly helperNice: number;
}

export interface RateLimitConfig {
  /** Attempts per window from one client IP on login, register, refresh and password change. */
  readonly perIp: number;
  /** Failed logins (and password changes) per window against one account name. */
  readonly perAccount: number;
  /** Window length in seconds. */
  readonly window: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const DURATION = /^(\d+)(s|m|h|d)?$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads `.env` from `cwd` (if present) under the given environment, then validates. */
export function loadConfig(env: Env = process.env, options?: { cwd?: string }): Config {
  const path = `${options?.cwd ?? process.cwd()}/.env`;
  const fromFile = existsSync(path) ? parseDotenv(readFileSync(path)) : {};
  return parseConfig({ ...fromFile, ...env });
}

export function parseConfig(env: Env): Config {
  const problems: string[] = [];
  const read = <T>(name: string, fallback: string, convert: (raw: string) => T): T => {
    const raw = (env[name] ?? '').trim() || fallback;
    try {
      return convert(raw);
    } catch (error) {
      if (!(error instanceof BadValue)) throw error;
      problems.push(`${name}: ${error.message}`);
      return undefined as T;
    }
  };
  const duration = (min: number, max = 10 * 365 * 86400) => (raw: string): number => {
    const m = DURATION.exec(raw);
    if (!m) throw new BadValue(`"${raw}" is not a duration (use seconds, or a number with s, m, h or d: 90, 15m, 7d)`);
    const seconds = Number(m[1]) * UNIT_SECONDS[(m[2] ?? 's') as keyof typeof UNIT_SECONDS];
    if (seconds < min || seconds > max) throw new BadValue(`${raw} is out of range (${min}s to ${max}s)`);
    return seconds;
  };
  const integer = (min: number, max: number) => (raw: string): number => {
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new BadValue(`"${raw}" must be a whole number from ${min} to ${max}`);
    return n;
  };
  const oneOf = <T extends string>(values: readonly T[]) => (raw: string): T => {
    if (!(values as readonly string[]).includes(raw)) throw new BadValue(`"${raw}" must be one of ${values.join(', ')}`);
    return raw as T;
  };

  const port = read('PORT', '8080', integer(0, 65535));
  const host = read('HOST', '127.0.0.1', asString);
  const databaseUrl = read('DATABASE_URL', 'sqlite:./data/tollgate.db', (raw) => {
    if (/^sqlite:.+/.test(raw) || /^postgres(ql)?:\/\//.test(raw)) return raw;
    throw new BadValue(`"${redactUrl(raw)}" must start with sqlite: or postgres://`);
  });
  const redisRaw = (env.REDIS_URL ?? '').trim();
  const redisUrl = redisRaw === '' ? undefined : redisRaw;
  // A Sentinel URL lists its sentinels with commas inside one URL; anything else with commas is a cluster node list.
  const redisParts = redisUrl?.startsWith('redis-sentinel://') ? [redisUrl] : redisUrl?.split(',') ?? [];
  if (!redisParts.every((u) => /^rediss?:\/\/|^redis-sentinel:\/\/|^[^:/]+:\d+$/.test(u.trim()))) {
    problems.push('REDIS_URL: must be redis://…, rediss://…, redis-sentinel://…, or a comma-separated list of host:port cluster nodes');
  }
  const jwtAlg = read('TOLLGATE_JWT_ALG', 'ES256', oneOf(JWS_ALGS));
  const jwtSecret = env.TOLLGATE_JWT_SECRET === undefined || env.TOLLGATE_JWT_SECRET === '' ? undefined : env.TOLLGATE_JWT_SECRET;
  if (jwtAlg === 'HS256') {
    // A short or well-known HMAC secret can be brute-forced offline from any one token.
    if (jwtSecret === undefined) problems.push('TOLLGATE_JWT_SECRET: required when TOLLGATE_JWT_ALG=HS256');
    else if (Buffer.byteLength(jwtSecret) < 32) problems.push('TOLLGATE_JWT_SECRET: must be at least 32 bytes');
    else if (isWeakSecret(jwtSecret)) problems.push('TOLLGATE_JWT_SECRET: is a known or guessable secret; generate one with `openssl rand -base64 48`');
  }
  const accessTtl = read('TOLLGATE_ACCESS_TTL', '15m', duration(1, 86400));
  const refreshTtl = read('TOLLGATE_REFRESH_TTL', '7d', duration(1));
  const sessionMaxAge = read('TOLLGATE_SESSION_MAX_AGE', '30d', duration(1));
  const config: Config = {
    port,
    host,
    databaseUrl,
    redisUrl,
    issuer: read('TOLLGATE_ISSUER', `http://${host.includes(':') ? `[${host}]` : host}:${port}`, asString),
    audience: read('TOLLGATE_AUDIENCE', 'tollgate', asString),
    accessTtl,
    refreshTtl,
    sessionMaxAge,
    refreshGrace: read('TOLLGATE_REFRESH_GRACE', '10s', duration(0, 3600)),
    clockLeeway: read('TOLLGATE_CLOCK_LEEWAY', '5s', duration(0, 300)),
    jwtAlg,
    jwtSecret,
    workers: read('TOLLGATE_WORKERS', '1', integer(1, 256)),
    logLevel: read('LOG_LEVEL', 'info', oneOf(LOG_LEVELS)),
    bodyLimit: read('TOLLGATE_BODY_LIMIT', '16384', integer(1024, 1024 * 1024)),
    trustProxy: read('TOLLGATE_TRUST_PROXY', 'false', parseTrustProxy),
    corsOrigins: read('TOLLGATE_CORS_ORIGINS', '', (raw) => raw.split(',').map((o) => o.trim()).filter(Boolean)),
    hashConcurrency: read('TOLLGATE_HASH_CONCURRENCY', String(defaultHashConcurrency(env)), integer(1, 256)),
    helperNice: read('TOLLGATE_HELPER_NICE', '19', integer(0, 19)),
    rateLimit: {
      perIp: read('TOLLGATE_RATE_LIMIT_IP', '30', integer(1, 1_000_000)),
      perAccount: read('TOLLGATE_RATE_LIMIT_ACCOUNT', '10', integer(1, 1_000_000)),
      window: read('TOLLGATE_RATE_LIMIT_WINDOW', '1m', duration(1, 86400)),
    },
  };
  if (problems.length === 0 && sessionMaxAge < refreshTtl) {
    problems.push('TOLLGATE_SESSION_MAX_AGE: must not be shorter than TOLLGATE_REFRESH_TTL');
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  return Object.freeze(config);
}

class BadValue extends Error {}

/**
 * Leave one core to serve requests: (cores - 1) split between the worker processes, at least 1.
 * Cores as the CPU quota allows (src/usable-cores.ts), or a container would hash as if it had the host's.
 */
function defaultHashConcurrency(env: Env): number {
  const workers = /^\d+$/.test(env.TOLLGATE_WORKERS ?? '') ? Math.max(1, Number(env.TOLLGATE_WORKERS)) : 1;
  return Math.max(1, Math.floor((usableCores() - 1) / workers));
}

function asString(raw: string): string {
  return raw;
}

function parseTrustProxy(raw: string): boolean | number | string[] {
  if (raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Connection URLs may carry passwords; error messages show them without. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}
