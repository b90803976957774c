import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config.js';
import { openStores } from '../src/store/open.js';
import { until } from './helper.js';

const CLI = ['--import', 'tsx', new URL('../src/cli.ts', import.meta.url).pathname];

function tollgate(args: string[], env: Record<string, string> = {}, input?: string) {
  return spawnSync(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 60_000 });
}

interface Served {
  readonly process: ChildProcess;
  /** Ports logged by the listening processes (one per worker). */
  readonly ports: number[];
  /** Log lines so far. */
  output(): string;
  exited: Promise<number | null>;
}

/**
 * Starts `tollgate serve` and resolves once `listeners` processes log that they listen. The
 * process is killed when the test ends, whatever its assertions did.
 */
async function serve(t: TestContext, env: Record<string, string>, options?: { args?: string[]; listeners?: number }): Promise<Served> {
  const child = spawn(process.execPath, [...CLI, 'serve', ...(options?.args ?? [])], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let out = '';
  const ports = await new Promise<number[]>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const found = [...out.matchAll(/listening at http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      if (found.length === (options?.listeners ?? 1)) resolve(found);
    });
    child.on('exit', () => reject(new Error(`server exited early: ${out}`)));
  });
  return { process: child, ports, output: () => out, exited };
}

function tempDatabase(): string {
  return `sqlite:${join(mkdtempSync(join(tmpdir(), 'tollgate-cli-')), 't.db')}`;
}

describe('tollgate command line', () => {
  test('--help lists the commands and exits 0', () => {
    const run = tollgate(['--help']);
    assert.equal(run.status, 0);
    for (const command of ['serve', 'migrate', 'user add', 'keys list', 'keys rotate']) assert.match(run.stdout, new RegExp(command));
  });

  test('an unknown command exits 2 with one line', () => {
    const run = tollgate(['frobnicate']);
    assert.equal(run.status, 2);
    assert.equal(run.stderr.trim().split('\n').length, 1);
  });

  test('a bad configuration exits 1 naming each bad variable, without a stack', () => {
    const run = tollgate(['migrate'], { PORT: 'abc', TOLLGATE_JWT_ALG: 'none' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /PORT: /);
    assert.match(run.stderr, /TOLLGATE_JWT_ALG: /);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  test('migrate brings a new database up to date, then says there is nothing to do', () => {
    const db = tempDatabase();
    assert.match(tollgate(['migrate'], { DATABASE_URL: db }).stdout, /applied: 0001_initial/);
    assert.match(tollgate(['migrate'], { DATABASE_URL: db }).stdout, /up to date/);
  });

  test('user add reads the password from stdin, never from an argument, and the user can then be found', async () => {
    const db = tempDatabase();
    const run = tollgate(['user', 'add', 'Carol'], { DATABASE_URL: db }, 'a long enough passphrase\n');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /created user Carol/);
    const stores = await openStores(parseConfig({ DATABASE_URL: db }));
    try {
      const user = await stores.accounts.findUserByName('carol');
      assert.ok(user);
      assert.match(user.passwordHash, /^\$argon2id\$/);
    } finally {
      await stores.close();
    }
    assert.equal(tollgate(['user', 'add'], { DATABASE_URL: db }).status, 2);
    assert.match(tollgate(['user', 'add', 'dave'], { DATABASE_URL: db }, 'short\n').stderr, /password must be at least 8/);
  });

  test('serve finishes an in-flight request on SIGTERM, then exits 0', async (t) => {
    const server = await serve(t, { DATABASE_URL: tempDatabase() });
    const [port] = server.ports;
    const body = JSON.stringify({ username: 'erin', password: 'a long enough passphrase' });
    const response = new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/auth/register', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10)); // the request is now in flight: headers sent, body not finished
      setTimeout(() => {
        server.process.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 200);
      }, 200);
    });
    assert.equal(await response, 201);
    assert.equal(await server.exited, 0);
  });

  test('serve --workers 2 starts two processes on one port that share keys and sessions, and stops them all on SIGTERM', async (t) => {
    const server = await serve(t, { DATABASE_URL: tempDatabase(), TOLLGATE_RATE_LIMIT_IP: '1000' }, { args: ['--workers', '2'], listeners: 2 });
    const port = server.ports[0]!;
    const pids = new Set([...server.output().matchAll(/"pid":(\d+)/g)].map((m) => m[1]));
    assert.equal(pids.size, 2, 'two worker processes logged that they listen');
    const base = `http://127.0.0.1:${port}`;
    const post = (path: string, body: unknown) => fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post('/auth/register', { username: 'frank', password: 'a long enough passphrase' })).status, 201);
    const pair = await (await post('/auth/login', { username: 'frank', password: 'a long enough passphrase' })).json() as { access_token: string };
    // New connections are spread over the workers; every one must accept the token (and cache its session).
    const me = () => fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${pair.access_token}`, connection: 'close' } });
    for (let i = 0; i < 8; i++) assert.equal((await me()).status, 200);
    // A logout on one worker must reach the other's session cache before the next request.
    const logout = await fetch(`${base}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${pair.access_token}`, 'content-type': 'application/json', connection: 'close' }, body: '{}' });
    assert.equal(logout.status, 204);
    for (let i = 0; i < 8; i++) {
      const res = await me();
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: string }).error, 'token_revoked');
    }
    server.process.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  });

  test('serve runs every thread but the event loop at nice TOLLGATE_HELPER_NICE: 19 by default, untouched with 0', { skip: process.platform !== 'linux' && 'per-thread nice values are Linux only' }, async (t) => {
    const niceValues = (pid: number): Map<number, number> =>
      new Map(readdirSync(`/proc/${pid}/task`).map((task) => [Number(task), getPriority(Number(task))]));
    const lowered = await serve(t, { DATABASE_URL: tempDatabase() });
    await until('the helper-threads log line', () => lowered.output().includes('helper threads run below the event loop'));
    const pid = lowered.process.pid!;
    const threads = niceValues(pid);
    assert.equal(threads.get(pid), 0, 'the event loop keeps its priority');
    const helpers = [...threads].filter(([tid]) => tid !== pid);
    assert.ok(helpers.length >= 4, `a Node process has helper threads (found ${helpers.length})`);
    for (const [tid, nice] of helpers) assert.equal(nice, 19, `thread ${tid}`);

    const untouched = await serve(t, { DATABASE_URL: tempDatabase(), TOLLGATE_HELPER_NICE: '0' });
    const all = niceValues(untouched.process.pid!);
    assert.ok(all.size >= 5);
    for (const [tid, nice] of all) assert.equal(nice, 0, `thread ${tid}`);
    assert.doesNotMatch(untouched.output(), /helper threads/);
  });

  test('a second server on the same SQLite file refuses to start with one line, and a lock left by a dead process is taken over', async (t) => {
    const db = tempDatabase();
    const first = await serve(t, { DATABASE_URL: db });
    const second = tollgate(['serve'], { DATABASE_URL: db, PORT: '0' });
    assert.equal(second.status, 1);
    assert.match(second.stderr, /another tollgate server \(pid \d+\) is serving/);
    assert.equal(second.stderr.trim().split('\n').length, 1);
    first.process.kill('SIGKILL'); // no clean shutdown: the lock file stays behind
    await first.exited;
    const third = await serve(t, { DATABASE_URL: db });
    third.process.kill('SIGTERM');
    assert.equal(await third.exited, 0);
  });
});
