/**
 * Real processes for the multi-instance tests and the bench: `tollgate serve` children on loopback,
 * a private redis-server, and the throwaway stores they run on (a fresh PostgreSQL database, a
 * claimed Redis logical database). Every child is stopped by the caller, by its own pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** A port nobody listens on right now: bound to port 0 on loopback, then released. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The parent's environment without anything that would configure tollgate or the test runner. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.startsWith('TOLLGATE_') || name.startsWith('NODE_TEST')) continue;
    if (['DATABASE_URL', 'REDIS_URL', 'PORT', 'HOST', 'LOG_LEVEL'].includes(name)) continue;
    env[name] = value;
  }
  return env;
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node --import tsx src/cli.ts serve` with `env` (PORT=0 and HOST=127.0.0.1 unless given)
 * and resolves once it logs `Server listening at …`; rejects with its stderr if it exits first.
 * That line is logged at level info, so LOG_LEVEL must stay info (or more verbose).
 */
export function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  if (env.LOG_LEVEL && !['info', 'debug', 'trace'].includes(env.LOG_LEVEL)) {
    return Promise.reject(new Error(`spawnServer needs LOG_LEVEL info or more verbose to see the listening address, not ${env.LOG_LEVEL}`));
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: ROOT,
    env: { ...baseEnv(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let pending = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (why: string): void => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      void stopChild(child, 'SIGKILL').then(() => reject(new Error(`${why}\n${stderr}`)));
    };
    const timer = setTimeout(() => fail(`server did not log its address within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.once('exit', (code, signal) => fail(`server exited (${signal ?? code}) before listening`));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        let msg: unknown;
        try {
          msg = (JSON.parse(line) as { msg?: unknown }).msg;
        } catch {
          continue;
        }
        const match = typeof msg === 'string' ? /^Server listening at (http:\/\/127\.0\.0\.1:\d+)$/.exec(msg) : null;
        if (!match) continue;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        // Keep draining stdout so the child never blocks on a full pipe.
        child.stdout!.removeAllListeners('data').resume();
        resolve({ url: match[1]!, pid: child.pid!, stderr: () => stderr, stop: () => stopChild(child) });
        return;
      }
    });
  });
}

/** Runs `tollgate serve` expecting it to fail at start: its exit code and output, or a kill after `timeoutMs`. */
export function runServerToExit(env: Record<string, string>, timeoutMs = 20_000): { code: number | null; signal: string | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: ROOT,
    env: { ...baseEnv(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** A private `redis-server` on `port` (no persistence); whether one can be run at all is `hasRedisServer`. */
export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: a crash, not a clean shutdown. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that accepts connections and never answers (a partition, a stall). */
  freeze(): void;
  thaw(): void;
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function spawnRedisServer(port: number): Promise<RedisProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--daemonize', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: string): void => void (output += chunk);
  child.stdout!.setEncoding('utf8').on('data', collect);
  child.stderr!.setEncoding('utf8').on('data', collect);
  const url = `redis://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}:\n${output}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
    child.stdout!.on('data', () => {
      if (!/Ready to accept connections/.test(output)) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve();
    });
  });
  return { port, url, kill: () => stopChild(child, 'SIGKILL'), freeze: () => void child.kill('SIGSTOP'), thaw: () => void child.kill('SIGCONT') };
}

/** A database of its own on the PostgreSQL server of `adminUrl`, dropped by `drop()`. */
export interface FreshDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

export async function freshPostgresDatabase(adminUrl: string): Promise<FreshDatabase> {
  const name = `tollgate_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * A Redis logical database (1–15) on the server of `baseUrl` that no other run is using: the servers
 * under test use the fixed key prefix `tg:`, so concurrent test files must not share a database.
 * Claimed atomically with a marker key, flushed on claim and on release.
 */
export interface ClaimedRedisDb {
  readonly url: string;
  release(): Promise<void>;
}

const CLAIM_KEY = 'tollgate-test:claimed-by';
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('FLUSHDB')
redis.call('SET', KEYS[1], ARGV[1], 'EX', 1800)
return 1`;

export async function claimRedisDb(baseUrl: string): Promise<ClaimedRedisDb> {
  const id = `${process.pid}:${randomBytes(4).toString('hex')}`;
  const dbs = Array.from({ length: 15 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
  for (const db of dbs) {
    const url = new URL(baseUrl);
    url.pathname = `/${db}`;
    const client = new Redis(url.toString(), { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      if ((await client.eval(CLAIM, 1, CLAIM_KEY, id)) !== 1) continue;
      return {
        url: url.toString(),
        release: async () => {
          const again = new Redis(url.toString(), { maxRetriesPerRequest: 1 });
          try {
            if ((await again.get(CLAIM_KEY)) === id) await again.flushdb();
          } finally {
            again.disconnect();
          }
        },
      };
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`every Redis logical database 1-15 at ${baseUrl} is claimed by another test run`);
}

export interface HttpAnswer {
  status: number;
  body: any;
}

/** One JSON request to a spawned server (loopback only), with an optional Bearer token. */
export async function httpCall(base: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, ...(options.body !== undefined && { body: JSON.stringify(options.body) }) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}
