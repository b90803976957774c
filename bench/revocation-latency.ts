/**
 * Revocation latency across instances: how soon after a logout on instance A does instance B
 * refuse that session's access token, with background load on both?
 *
 * Two `tollgate serve` processes on a fresh PostgreSQL database and a Redis logical database of
 * their own. Per trial: log in on A, check B accepts the token, then send POST /auth/logout on A
 * while a poller sends GET /auth/me to B back to back from the same moment. Reported:
 *   - logout returned → revoked: from A's 204 to B's token_revoked answer to the first request
 *     sent after that 204 (what a client sees);
 *   - logout sent → revoked: from sending the logout to B's first token_revoked answer;
 *   - stale answers: B answered 200 to a request sent after A's logout returned (goal: zero).
 * Background: `--loaders` loops of GET /auth/me, alternately against A and B.
 *
 * `TEST_DATABASE_URL=postgres://… TEST_REDIS_URL=redis://… node --import tsx bench/revocation-latency.ts
 *  [--trials 200] [--seconds 60] [--loaders 4]`; exits 1 if any stale answer was seen.
 */
import { parseArgs } from 'node:util';
import { claimRedisDb, freshPostgresDatabase, spawnServer, type ClaimedRedisDb, type FreshDatabase, type ServerProcess, httpCall } from '../test/support/spawn-server.js';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '200' }, seconds: { type: 'string', default: '60' }, loaders: { type: 'string', default: '4' } } });
const TRIALS = Number(values.trials);
const BUDGET_MS = Number(values.seconds) * 1000;
const LOADERS = Number(values.loaders);
/** A trial whose token B still accepts this long after the logout counts as never revoked. */
const TRIAL_TIMEOUT_MS = 5_000;
const PASSWORD = 'correct horse battery staple';

const databaseUrl = process.env.TEST_DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL;
if (!databaseUrl || !redisUrl) {
  process.stderr.write('revocation-latency: set TEST_DATABASE_URL and TEST_REDIS_URL (see .ci/run)\n');
  process.exit(2);
}

const request = httpCall;

async function loginOn(base: string, username: string): Promise<{ access_token: string }> {
  const res = await request(base, 'POST', '/auth/login', { body: { username, password: PASSWORD } });
  if (res.status !== 200) throw new Error(`login on ${base}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

interface Trial {
  /** Logout returned → B's revoked answer to the first request sent after it. */
  afterReturn: number;
  /** Logout sent → B's first revoked answer. */
  afterSend: number;
  stale: number;
}

async function trial(A: string, B: string, username: string): Promise<Trial | null> {
  const { access_token: token } = await loginOn(A, username);
  const check = await request(B, 'GET', '/auth/me', { token });
  if (check.status !== 200) throw new Error(`B refused a fresh token: ${check.status} ${JSON.stringify(check.body)}`);

  const sentAt = performance.now();
  let returnedAt: number | null = null;
  const logout = request(A, 'POST', '/auth/logout', { token, body: {} }).then((res) => {
    returnedAt = performance.now();
    if (res.status !== 204) throw new Error(`logout on A: ${res.status}`);
  });
  let firstRevoked: number | null = null;
  let stale = 0;
  let afterReturn: number | null = null;
  while (afterReturn === null && performance.now() - sentAt < TRIAL_TIMEOUT_MS) {
    const sent = performance.now();
    const afterLogout = returnedAt !== null && sent >= returnedAt;
    const res = await request(B, 'GET', '/auth/me', { token });
    const answered = performance.now();
    if (res.status === 200) {
      if (afterLogout) stale++;
    } else if (res.body?.error === 'token_revoked') {
      firstRevoked ??= answered;
      if (afterLogout) afterReturn = answered - returnedAt!;
    } else {
      throw new Error(`B answered ${res.status} ${JSON.stringify(res.body)}`);
    }
  }
  await logout;
  if (afterReturn === null || firstRevoked === null) return null;
  return { afterReturn, afterSend: firstRevoked - sentAt, stale };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const f = (x: number): string => `${x.toFixed(2)} ms`;
  return `p50 ${f(percentile(sorted, 50))}  p99 ${f(percentile(sorted, 99))}  max ${f(sorted[sorted.length - 1]!)}`;
}

async function main(): Promise<number> {
  let database: FreshDatabase | undefined;
  let redis: ClaimedRedisDb | undefined;
  const servers: ServerProcess[] = [];
  let stopping = false;
  const onSignal = (): void => void (stopping = true);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    database = await freshPostgresDatabase(databaseUrl!);
    redis = await claimRedisDb(redisUrl!);
    const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, LOG_LEVEL: 'info', TOLLGATE_ISSUER: 'http://tollgate.bench', TOLLGATE_RATE_LIMIT_IP: '1000000' };
    // One after the other, so the second finds the first's signing key.
    servers.push(await spawnServer(env));
    servers.push(await spawnServer(env));
    const [A, B] = servers.map((s) => s.url) as [string, string];
    for (const name of ['bench', 'load']) {
      const res = await request(A, 'POST', '/auth/register', { body: { username: name, password: PASSWORD } });
      if (res.status !== 201) throw new Error(`register ${name}: ${res.status}`);
    }

    let loading = true;
    let loadRequests = 0;
    let loadErrors = 0;
    const targets = Array.from({ length: LOADERS }, (_, i) => (i % 2 === 0 ? A : B));
    const tokens = await Promise.all(targets.map(async (target) => (await loginOn(target, 'load')).access_token));
    const loaders = targets.map(async (target, i) => {
      while (loading) {
        const res = await request(target, 'GET', '/auth/me', { token: tokens[i]! }).catch(() => ({ status: 0 }));
        loadRequests++;
        if (res.status !== 200) loadErrors++;
      }
    });

    const results: Trial[] = [];
    let lost = 0;
    const started = performance.now();
    while (!stopping && results.length + lost < TRIALS && performance.now() - started < BUDGET_MS) {
      const t = await trial(A, B, 'bench');
      if (t) results.push(t);
      else lost++;
    }
    const elapsed = (performance.now() - started) / 1000;
    loading = false;
    await Promise.all(loaders);

    const stale = results.reduce((n, t) => n + t.stale, 0);
    const lines = [
      `revocation latency: 2 instances (PostgreSQL + Redis), ${LOADERS} background loops of GET /auth/me on A and B`,
      `trials: ${results.length + lost} in ${elapsed.toFixed(1)} s (bounds: ${TRIALS} trials, ${BUDGET_MS / 1000} s); never revoked within ${TRIAL_TIMEOUT_MS / 1000} s: ${lost}`,
      `background: ${loadRequests} requests, ${(loadRequests / elapsed).toFixed(0)}/s, ${loadErrors} not 200`,
    ];
    if (results.length > 0) {
      lines.push(`logout returned on A -> B answers token_revoked:  ${summary(results.map((t) => t.afterReturn))}`);
      lines.push(`logout sent on A -> first token_revoked on B:     ${summary(results.map((t) => t.afterSend))}`);
    }
    lines.push(`B answered 200 after A's logout returned: ${stale} (goal: 0)`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return stale > 0 || lost > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.allSettled(servers.map((s) => s.stop()));
    await redis?.release();
    await database?.drop();
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`revocation-latency: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
