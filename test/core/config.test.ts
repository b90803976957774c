import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const STRONG_SECRET = 'Zq3v9Lw2Xe7Rt5Yu1Io8Pa4Sd6Fg0Hj3Kl5Zx7Cv9Bn';

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message.split('\n');
  }
  return [];
}

describe('configuration', () => {
  test('with nothing set, the contract defaults apply', () => {
    const c = parseConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.databaseUrl, 'sqlite:./data/tollgate.db');
    assert.equal(c.redisUrl, undefined);
    assert.equal(c.issuer, 'http://127.0.0.1:8080');
    assert.equal(c.audience, 'tollgate');
    assert.deepEqual([c.accessTtl, c.refreshTtl, c.sessionMaxAge, c.refreshGrace, c.clockLeeway], [900, 604800, 2592000, 10, 5]);
    assert.equal(c.jwtAlg, 'ES256');
    assert.equal(c.workers, 1);
    assert.equal(c.helperNice, 19);
    assert.equal(c.logLevel, 'info');
    assert.ok(Object.isFrozen(c));
  });

  test('durations take seconds or a number with s, m, h or d', () => {
    const c = parseConfig({ TOLLGATE_ACCESS_TTL: '1m', TOLLGATE_REFRESH_TTL: '5m', TOLLGATE_SESSION_MAX_AGE: '2h', TOLLGATE_REFRESH_GRACE: '90', TOLLGATE_CLOCK_LEEWAY: '0' });
    assert.deepEqual([c.accessTtl, c.refreshTtl, c.sessionMaxAge, c.refreshGrace, c.clockLeeway], [60, 300, 7200, 90, 0]);
    assert.equal(parseConfig({ TOLLGATE_ACCESS_TTL: '3s', TOLLGATE_REFRESH_TTL: '10s', TOLLGATE_SESSION_MAX_AGE: '1d' }).accessTtl, 3);
  });

  test('every bad value is reported on its own line naming the variable', () => {
    const lines = problems({ PORT: 'eighty', TOLLGATE_ACCESS_TTL: '15 minutes', TOLLGATE_JWT_ALG: 'none', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' });
    assert.equal(lines.length, 5);
    for (const name of ['PORT', 'TOLLGATE_ACCESS_TTL', 'TOLLGATE_JWT_ALG', 'LOG_LEVEL', 'DATABASE_URL']) {
      assert.ok(lines.some((l) => l.startsWith(`${name}: `)), name);
    }
  });

  test('HS256 needs a secret of at least 32 bytes that is not a known placeholder', () => {
    assert.match(problems({ TOLLGATE_JWT_ALG: 'HS256' })[0]!, /^TOLLGATE_JWT_SECRET: required/);
    assert.match(problems({ TOLLGATE_JWT_ALG: 'HS256', TOLLGATE_JWT_SECRET: 'jdnfksdmfksd' })[0]!, /at least 32 bytes/);
    for (const weak of ['your-256-bit-secret-your-256-bit-secret', 'a'.repeat(40), 'abcdabcdabcdabcdabcdabcdabcdabcdabcd', 'changeme-please-this-is-32-bytes-long!']) {
      assert.match(problems({ TOLLGATE_JWT_ALG: 'HS256', TOLLGATE_JWT_SECRET: weak })[0] ?? '', /^TOLLGATE_JWT_SECRET: is a known or guessable secret/, weak);
    }
    assert.equal(parseConfig({ TOLLGATE_JWT_ALG: 'HS256', TOLLGATE_JWT_SECRET: STRONG_SECRET }).jwtSecret, STRONG_SECRET);
  });

  test('a session max age shorter than the refresh lifetime is refused', () => {
    assert.match(problems({ TOLLGATE_REFRESH_TTL: '7d', TOLLGATE_SESSION_MAX_AGE: '1d' })[0]!, /^TOLLGATE_SESSION_MAX_AGE/);
  });

  test('TOLLGATE_HELPER_NICE takes a nice value from 0 (leave the threads alone) to 19', () => {
    assert.equal(parseConfig({ TOLLGATE_HELPER_NICE: '0' }).helperNice, 0);
    assert.equal(parseConfig({ TOLLGATE_HELPER_NICE: '10' }).helperNice, 10);
    for (const bad of ['20', '-5', 'low']) assert.match(problems({ TOLLGATE_HELPER_NICE: bad })[0] ?? '', /^TOLLGATE_HELPER_NICE: /, bad);
  });

  test('a database URL with a password is shown without it in errors', () => {
    const [line] = problems({ DATABASE_URL: 'mysql://admin:hunter2@db/x' });
    assert.doesNotMatch(line!, /hunter2/);
  });

  test('a .env file in the working directory is read, and the real environment wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-env-'));
    writeFileSync(join(dir, '.env'), 'PORT=9999\nTOLLGATE_AUDIENCE=from-file\n');
    const c = loadConfig({ TOLLGATE_AUDIENCE: 'from-env' }, { cwd: dir });
    assert.equal(c.port, 9999);
    assert.equal(c.audience, 'from-env');
  });
});
