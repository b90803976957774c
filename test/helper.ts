/**
 * Builds the real app over an in-memory SQLite database with a controllable clock and cheap
 * argon2 parameters, for tests through the HTTP layer with app.inject (no sockets), or over a
 * real socket with `listen` where the test is about what Node's HTTP server writes (headers).
 */
import type { TestContext } from 'node:test';
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../src/app.js';
import { parseConfig } from '../src/config.js';
import type { Clock } from '../src/core/clock.js';
import { PasswordHasher, type Argon2Params } from '../src/core/passwords.js';
import { loggerOptions } from '../src/server.js';
import { createServices, type Services } from '../src/services.js';
import { openStores, type OpenedStores } from '../src/store/open.js';

/** argon2id still, but 1 MiB and one pass: tests exercise the flow, bench/ measures the real cost. */
export const TEST_ARGON2: Argon2Params = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

export class TestClock implements Clock {
  #ms: number;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#ms = start;
  }
  now(): number {
    return this.#ms;
  }
  advance(seconds: number): void {
    this.#ms += seconds * 1000;
  }
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly services: Services;
  readonly stores: OpenedStores;
  readonly clock: TestClock;
}

export interface TestAppOptions {
  readonly argon2?: Argon2Params;
  /**
   * Where the test clock starts (default 2026-01-01). Stores that expire keys by the wall clock
   * (Redis) need the real time here, or every session is written already expired.
   */
  readonly clockStart?: number;
}

export async function buildTestApp(t: TestContext, env: Record<string, string> = {}, options?: TestAppOptions): Promise<TestApp> {
  const config = parseConfig({ DATABASE_URL: 'sqlite::memory:', TOLLGATE_RATE_LIMIT_IP: '100000', TOLLGATE_RATE_LIMIT_ACCOUNT: '100000', ...env });
  const clock = new TestClock(options?.clockStart);
  const stores = await openStores(config);
  const services = await createServices(config, stores, { clock, hasher: new PasswordHasher(options?.argon2 ?? TEST_ARGON2) });
  const app = await buildApp(services);
  t.after(async () => {
    await app.close();
    await stores.close();
  });
  return { app, services, stores, clock };
}

/**
 * The app over an in-memory SQLite database logging at `level` with the server's own pino options
 * (src/server.ts), each line written parsed into `lines`. Rate limits are the defaults.
 */
export async function buildLoggingTestApp(t: TestContext, level: string): Promise<{ app: FastifyInstance; stores: OpenedStores; services: Services; lines: Record<string, unknown>[] }> {
  const config = parseConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: level });
  const stores = await openStores(config);
  const services = await createServices(config, stores, { clock: new TestClock(), hasher: new PasswordHasher(TEST_ARGON2) });
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk, _encoding, done) { lines.push(...String(chunk).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)); done(); } });
  const app = await buildApp(services, { logger: { ...loggerOptions(config), stream } });
  t.after(async () => {
    await app.close();
    await stores.close();
  });
  return { app, stores, services, lines };
}

/**
 * Serves the app on a free port of 127.0.0.1 and returns its base URL (closed with the app). The
 * security headers are added by the server's response class (src/http/plugins/security-headers.ts),
 * which app.inject does not use, so tests of those headers go over a socket.
 */
export async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' });
}

export const PASSWORD = 'correct horse battery staple';

export interface Pair {
  access_token: string;
  refresh_token: string;
  session_id: string;
  expires_in: number;
  refresh_expires_in: number;
  token_type: string;
}

export async function register(app: FastifyInstance, username: string, password = PASSWORD): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/auth/register', payload: { username, password } });
}

export async function login(app: FastifyInstance, username: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<Pair> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password }, headers });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return res.json() as Pair;
}

/** Registers `username` and logs in once. */
export async function signUp(app: FastifyInstance, username: string): Promise<Pair> {
  const res = await register(app, username);
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  return login(app, username);
}

export async function refresh(app: FastifyInstance, refreshToken: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshToken } });
}

export function authed(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...extra };
}

export async function me(app: FastifyInstance, token: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: '/auth/me', headers: authed(token) });
}

/** The error code of a response body (every error body is `{error, message}`). */
export function errorCode(res: LightMyRequestResponse): string {
  return (res.json() as { error: string }).error;
}

/** Polls `condition` every 5 ms, for about 2.5 s at most, then fails naming `what`. */
export async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}
