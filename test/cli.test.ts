import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config.js';
import { openStores } from '../src/store/open.js';

const CLI = ['--import', 'tsx', new URL('../src/cli.ts', import.meta.url).pathname];

function tollgate(args: string[], env: Record<string, string> = {}, input?: string) {
  return spawnSync(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 60_000 });
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

  test('serve finishes an in-flight request on SIGTERM, then exits 0', async () => {
    const server = spawn(process.execPath, [...CLI, 'serve'], {
      env: { ...process.env, DATABASE_URL: tempDatabase(), PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (chunk) => {
        out += chunk;
        const match = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      server.on('exit', () => reject(new Error(`server exited early: ${out}`)));
    });
    const body = JSON.stringify({ username: 'erin', password: 'a long enough passphrase' });
    const response = new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/auth/register', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10)); // the request is now in flight: headers sent, body not finished
      setTimeout(() => {
        server.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 200);
      }, 200);
    });
    assert.equal(await response, 201);
    assert.equal(await exited, 0);
  });

  test('serve --workers 2 starts two processes on one port that share keys and sessions, and stops them all on SIGTERM', async () => {
    const server = spawn(process.execPath, [...CLI, 'serve', '--workers', '2'], {
      env: { ...process.env, DATABASE_URL: tempDatabase(), PORT: '0', LOG_LEVEL: 'info', TOLLGATE_RATE_LIMIT_IP: '1000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout.on('data', (chunk) => {
        out += chunk;
        const ports = [...out.matchAll(/listening at http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
        if (ports.length === 2) resolve(ports[0]!);
      });
      server.on('exit', () => reject(new Error(`server exited early: ${out}`)));
    });
    const pids = new Set([...out.matchAll(/"pid":(\d+)/g)].map((m) => m[1]));
    assert.equal(pids.size, 2, 'two worker processes logged that they listen');
    const base = `http://127.0.0.1:${port}`;
    const post = (path: string, body: unknown) => fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post('/auth/register', { username: 'frank', password: 'a long enough passphrase' })).status, 201);
    const pair = await (await post('/auth/login', { username: 'frank', password: 'a long enough passphrase' })).json() as { access_token: string };
    // New connections are spread over the workers; every one must accept the token.
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${pair.access_token}`, connection: 'close' } });
      assert.equal(res.status, 200);
    }
    server.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
