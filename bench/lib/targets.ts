/**
 * The servers under test: tollgate from dist/ in its configurations, the two peers from
 * ../shared/peers (copied or built under /tmp, never written in place), the bare Fastify route,
 * and the stores they use (a fresh PostgreSQL database, a flushed Redis logical db).
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { http, redisCommands } from './clients.js';
import { freePort, onCleanup, run, start, waitFor, type Proc } from './procs.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const sharedDir = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const REDIS_PORT = 6379;
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The highest value tollgate's config accepts for TOLLGATE_RATE_LIMIT_IP/_ACCOUNT. */
export const RATE_LIMIT_MAX = '1000000';

export type Kind = 'tollgate' | 'go-seed' | 'express' | 'bare';
export interface Target {
  readonly name: string;
  readonly kind: Kind;
  readonly base: string;
  readonly workers: number;
  readonly proc: Proc;
}

/** The environment children start from: none of the variables the servers read leak in. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(TOLLGATE_|DATABASE_URL$|REDIS_URL$|REDIS_DSN$|PORT$|HOST$|LOG_LEVEL$|NODE_ENV$|WORKERS$)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

const ok = (status: number) => status >= 200 && status < 300;

async function waitWorkers(proc: Proc, workers: number): Promise<void> {
  if (workers <= 1 || proc.child.pid === undefined) return;
  const parent = String(proc.child.pid);
  const children = (): number => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try { return readFileSync(`/proc/${d}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1] === parent; } catch { return false; }
  }).length;
  await waitFor('workers', async () => children() >= workers, 20_000, proc);
  await sleep(1500); // forked is not listening yet; give every worker time to bind and open its stores
}

/** Size of tollgate's per-process verified-token cache, read from the source (undefined if not found). */
export function verifiedCacheSize(): number | undefined {
  try {
    const m = /VERIFIED_CACHE_SIZE\s*=\s*([\d_]+)/.exec(readFileSync(join(repoRoot, 'src/core/access-tokens.ts'), 'utf8'));
    return m?.[1] ? Number(m[1].replace(/_/g, '')) : undefined;
  } catch {
    return undefined;
  }
}

/** A scratch directory under the system tmpdir, removed at cleanup (after the servers stop). */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function buildTollgate(): Promise<void> {
  const { code, out } = await run('npm run build', 'npm', ['run', 'build'], { cwd: repoRoot, timeoutMs: 300_000 });
  if (code !== 0) throw new Error(`npm run build failed (exit ${code}):\n${out.slice(-2000)}`);
}

/** The node flags of package.json's `start` script, read from there so the two cannot drift. */
const SERVE_NODE_FLAGS: string[] = (() => {
  const start = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  return start.split(/\s+/).filter((word) => word.startsWith('--'));
})();

export interface TollgateOptions {
  readonly workers: number;
  readonly databaseUrl: string;
  readonly redisUrl?: string;
  readonly env?: Record<string, string>;
  /** Node flags after the start script's own (the soak adds --trace-gc). */
  readonly nodeFlags?: readonly string[];
}

export async function startTollgate(name: string, options: TollgateOptions): Promise<Target> {
  const port = await freePort();
  const cwd = scratchDir('tollgate-bench-cwd-'); // no stray .env is read
  const env = cleanEnv({
    PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: options.databaseUrl, LOG_LEVEL: 'warn',
    TOLLGATE_WORKERS: String(options.workers), TOLLGATE_RATE_LIMIT_IP: RATE_LIMIT_MAX, TOLLGATE_RATE_LIMIT_ACCOUNT: RATE_LIMIT_MAX,
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}), ...options.env,
  });
  // The same node flags as `npm start` (package.json), so the figures are what a user gets.
  const proc = start(name, process.execPath, [...SERVE_NODE_FLAGS, ...(options.nodeFlags ?? []), join(repoRoot, 'dist/src/cli.js'), 'serve'], { cwd, env });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(name, async () => ok((await http('GET', `${base}/healthz`)).status), 60_000, proc);
  await waitWorkers(proc, options.workers);
  return { name, kind: 'tollgate', base, workers: options.workers, proc };
}

export async function startBare(workers: number): Promise<Target> {
  const port = await freePort();
  const name = workers > 1 ? `bare Fastify ×${workers}` : 'bare Fastify';
  const script = fileURLToPath(new URL('../bare-fastify.mjs', import.meta.url));
  // The same V8 flags as tollgate: the ceiling is Node as `npm start` runs it, so a ratio to it
  // measures the auth server and not a garbage-collector setting one side lacks.
  const proc = start(name, process.execPath, [...SERVE_NODE_FLAGS, script], { cwd: repoRoot, env: cleanEnv({ PORT: String(port), WORKERS: String(workers) }) });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(name, async () => ok((await http('GET', `${base}/`)).status), 30_000, proc);
  await waitWorkers(proc, workers);
  return { name, kind: 'bare', base, workers, proc };
}

/** Builds /tmp/go-seed with the peer's own build.sh (which apt-installs Go if missing). */
export async function startGoSeed(): Promise<Target> {
  const binary = process.env.BENCH_GO_SEED_BIN ?? '/tmp/go-seed';
  const source = join(sharedDir, 'peers/go-seed/main.go');
  if (!existsSync(source)) throw new Error(`${source} not found`);
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
    process.stderr.write(`[bench] building go-seed into ${binary} (may apt-install Go packages)\n`);
    const { code, out } = await run('go-seed build', 'bash', [join(sharedDir, 'peers/go-seed/build.sh'), binary], { timeoutMs: 600_000 });
    if (code !== 0) throw new Error(`go-seed build failed (exit ${code}): ${out.slice(-600)}`);
  }
  const port = await freePort();
  const proc = start('go-seed', binary, [], { env: cleanEnv({ PORT: String(port), REDIS_DSN: `127.0.0.1:${REDIS_PORT}`, GIN_MODE: 'release' }) });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('go-seed', async () => (await http('POST', `${base}/login`, { username: 'username', password: 'password' })).status === 200, 30_000, proc);
  return { name: 'go-seed', kind: 'go-seed', base, workers: 1, proc };
}

/** Copies the express peer under /tmp (npm ci there, once), then starts it on Redis db `db`. */
export async function startExpress(db: number): Promise<Target> {
  const from = join(sharedDir, 'peers/express-jsonwebtoken');
  const dir = join(tmpdir(), 'tollgate-bench-peers/express-jsonwebtoken');
  mkdirSync(dir, { recursive: true });
  const lockChanged = !existsSync(join(dir, 'package-lock.json'))
    || readFileSync(join(dir, 'package-lock.json'), 'utf8') !== readFileSync(join(from, 'package-lock.json'), 'utf8');
  for (const file of ['package.json', 'package-lock.json', 'server.js']) cpSync(join(from, file), join(dir, file));
  if (lockChanged || !existsSync(join(dir, 'node_modules'))) {
    process.stderr.write(`[bench] npm ci for the express peer in ${dir}\n`);
    const { code, out } = await run('npm ci (express peer)', 'npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, timeoutMs: 300_000 });
    if (code !== 0) throw new Error(`npm ci failed (exit ${code}): ${out.slice(-600)}`);
  }
  const port = await freePort();
  const proc = start('express-jsonwebtoken', process.execPath, ['server.js'], {
    cwd: dir, env: cleanEnv({ PORT: String(port), REDIS_DSN: `redis://127.0.0.1:${REDIS_PORT}/${db}` }),
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('express', async () => (await http('POST', `${base}/login`, { username: 'username', password: 'password' })).status === 200, 30_000, proc);
  return { name: 'express-jsonwebtoken', kind: 'express', base, workers: 1, proc };
}

/**
 * A Redis logical db (1–15, or BENCH_REDIS_DB) claimed with the same marker key and script as the
 * test suites (test/support/spawn-server.ts), so concurrent test runs and benchmarks never share
 * or flush each other's db: claimed only when unmarked, flushed on claim and on release.
 */
const CLAIM_KEY = 'tollgate-test:claimed-by';
const CLAIM = "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end redis.call('FLUSHDB') redis.call('SET', KEYS[1], ARGV[1], 'EX', 3600) return 1";
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('FLUSHDB') return 1 end return 0";

export async function claimRedisDb(): Promise<number> {
  const pong = await redisCommands(REDIS_PORT, 0, [['PING']]);
  if (pong[0] !== '+PONG') throw new Error(`no PONG from 127.0.0.1:${REDIS_PORT}: ${pong.join(' ')}`);
  const id = `bench:${process.pid}:${randomBytes(4).toString('hex')}`;
  const candidates = process.env.BENCH_REDIS_DB ? [Number(process.env.BENCH_REDIS_DB)] : [...Array(15).keys()].map((i) => i + 1).sort(() => Math.random() - 0.5);
  for (const db of candidates) {
    const [claimed] = await redisCommands(REDIS_PORT, db, [['EVAL', CLAIM, '1', CLAIM_KEY, id]]);
    if (claimed !== ':1') continue;
    onCleanup(async () => { await redisCommands(REDIS_PORT, db, [['EVAL', RELEASE, '1', CLAIM_KEY, id]]); });
    return db;
  }
  throw new Error(`every Redis logical db ${candidates.join(', ')} is claimed by another run (key ${CLAIM_KEY})`);
}

/** CREATE DATABASE tollgate_bench_<rand>; dropped (WITH FORCE) at cleanup. Returns its URL. */
export async function createPgDatabase(): Promise<string> {
  const name = `tollgate_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    await client.connect();
    try { await client.query(sql); } finally { await client.end(); }
  };
  await admin(`CREATE DATABASE ${name}`);
  onCleanup(async () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
