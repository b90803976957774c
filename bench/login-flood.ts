/**
 * Login flood: does password hashing starve authenticated requests, and does login run at the
 * speed of the argon2 binding?
 *
 * Per round, each phase for the same duration on a running tollgate:
 *   1. probe alone: paced GET /auth/me (16 connections, each waits 10 ms between requests);
 *   2. probe + flood: the same probe while 32 connections post wrong-password logins for a real
 *      user (so every login runs one argon2id verify with the OWASP parameters);
 *   3. flood alone: login throughput;
 *   4. the argon2 binding alone, in a fresh process with the default UV_THREADPOOL_SIZE, as many
 *      verifies at once as tollgate allows (TOLLGATE_HASH_CONCURRENCY: the goal ratio), and then 32
 *      concurrent argon2.verify calls with the same parameters for the same duration.
 * Reported: probe p99 with and without the flood, logins/s, verifies/s and logins ÷ verifies.
 *
 * Standalone: `node --import tsx bench/login-flood.ts [--duration 6] [--rounds 3] [--no-build]`
 * (starts its own tollgate on SQLite). bench/run.ts calls loginFlood() on its default config.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import argon2 from 'argon2';
import { OWASP_ARGON2 } from '../src/core/passwords.js';
import { parseConfig } from '../src/config.js';
import { tollgateLogin, tollgateUser, type Credentials } from './lib/clients.js';
import { load, haveWrk, type LoadResult, type LoadSpec, type LoadTool } from './lib/load.js';
import { cleanup, installSignalHandlers, run } from './lib/procs.js';
import { buildTollgate, repoRoot, scratchDir, startTollgate } from './lib/targets.js';
import { median, ms, int, x } from './lib/report.js';

export interface FloodOptions {
  readonly base: string;
  readonly creds: Credentials;
  readonly durationSec: number;
  readonly rounds: number;
  readonly tool: LoadTool;
  readonly floodConnections?: number;
  readonly probeConnections?: number;
  readonly probeDelayMs?: number;
}

export interface FloodRound {
  readonly probeAlone: LoadResult;
  readonly probeUnderFlood: LoadResult;
  readonly floodWithProbe: LoadResult;
  readonly floodAlone: LoadResult;
  /** The binding alone with as many hashes at once as tollgate allows (the "same threads" figure). */
  readonly argon2PerSec: number;
  /** The binding alone with 32 at once on the default pool of four threads (information). */
  readonly argon2PoolPerSec: number;
}

/** What tollgate computes at once by default (TOLLGATE_HASH_CONCURRENCY), so both sides use the same threads. */
const HASH_CONCURRENCY = parseConfig({}).hashConcurrency;

const WRONG_PASSWORD = 'definitely-not-the-password-42';

export async function loginFlood(o: FloodOptions): Promise<FloodRound[]> {
  const access = (await tollgateLogin(o.base, o.creds)).access;
  const probe = (durationSec: number): LoadSpec => ({
    url: `${o.base}/auth/me`, method: 'GET', headers: { Authorization: `Bearer ${access}` },
    connections: o.probeConnections ?? 16, threads: 1, durationSec, delayMs: o.probeDelayMs ?? 10, tally: true,
  });
  const flood = (durationSec: number): LoadSpec => ({
    url: `${o.base}/auth/login`, method: 'POST', body: JSON.stringify({ username: o.creds.username, password: WRONG_PASSWORD }),
    connections: o.floodConnections ?? 32, threads: 1, durationSec, tally: true,
  });
  await Promise.all([load(o.tool, probe(1)), load(o.tool, flood(1))]); // warm-up
  const rounds: FloodRound[] = [];
  for (let round = 0; round < o.rounds; round++) {
    const probeAlone = await load(o.tool, probe(o.durationSec));
    const [floodWithProbe, probeUnderFlood] = await Promise.all([load(o.tool, flood(o.durationSec)), load(o.tool, probe(o.durationSec))]);
    const floodAlone = await load(o.tool, flood(o.durationSec));
    const argon2PerSec = await argon2InChild(o.durationSec, HASH_CONCURRENCY);
    const argon2PoolPerSec = await argon2InChild(o.durationSec, o.floodConnections ?? 32);
    rounds.push({ probeAlone, probeUnderFlood, floodWithProbe, floodAlone, argon2PerSec, argon2PoolPerSec });
  }
  return rounds;
}

async function argon2InChild(durationSec: number, concurrency: number): Promise<number> {
  const self = fileURLToPath(import.meta.url);
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE; // the server runs with the default too (run.ts does not set it)
  const { code, out } = await run('argon2 alone', process.execPath, ['--import', 'tsx', self, '--argon2-only', '--duration', String(durationSec), '--concurrency', String(concurrency)], { env, cwd: repoRoot, timeoutMs: (durationSec + 30) * 1000 });
  const line = /^BENCH_ARGON2 (\S+)$/m.exec(out);
  if (code !== 0 || !line?.[1]) throw new Error(`argon2 measurement failed (exit ${code}): ${out.slice(-500)}`);
  return Number(line[1]);
}

async function argon2Alone(durationSec: number, concurrency: number): Promise<number> {
  const hash = await argon2.hash('the-real-password-of-the-user', { type: argon2.argon2id, ...OWASP_ARGON2 });
  for (let i = 0; i < 4; i++) await argon2.verify(hash, WRONG_PASSWORD); // warm-up
  // Counted like wrk counts logins: completions within the duration, divided by the duration
  // (calls still running at the end are not counted, as wrk drops requests still in flight).
  let done = 0;
  const started = performance.now();
  const end = started + durationSec * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await argon2.verify(hash, WRONG_PASSWORD);
      if (performance.now() <= end) done++;
    }
  }));
  return done / durationSec;
}

const statusText = (r: LoadResult): string => Object.entries(r.statuses ?? {}).map(([k, v]) => `${k}×${v}`).join(' ') || `≥400×${r.errorStatus}`;

export function floodMarkdown(rounds: readonly FloodRound[], o: Pick<FloodOptions, 'durationSec'>): string {
  const m = (f: (r: FloodRound) => number): number => median(rounds.map(f));
  const ratio = m((r) => r.floodAlone.rps / r.argon2PerSec);
  const p99Ratio = m((r) => r.probeUnderFlood.p99Ms / r.probeAlone.p99Ms);
  return [
    `| measure (median of ${rounds.length} round(s), ${o.durationSec} s each) | value | per round |`,
    '|---|---:|---|',
    `| GET /auth/me p50 / p99 ms, probe alone | ${ms(m((r) => r.probeAlone.p50Ms))} / ${ms(m((r) => r.probeAlone.p99Ms))} | ${rounds.map((r) => ms(r.probeAlone.p99Ms)).join(', ')} |`,
    `| GET /auth/me p50 / p99 ms, during the login flood | ${ms(m((r) => r.probeUnderFlood.p50Ms))} / ${ms(m((r) => r.probeUnderFlood.p99Ms))} | ${rounds.map((r) => ms(r.probeUnderFlood.p99Ms)).join(', ')} |`,
    `| p99 during flood ÷ p99 alone | ${x(p99Ratio)} | ${rounds.map((r) => x(r.probeUnderFlood.p99Ms / r.probeAlone.p99Ms)).join(', ')} |`,
    `| probe req/s alone / during flood | ${int(m((r) => r.probeAlone.rps))} / ${int(m((r) => r.probeUnderFlood.rps))} | |`,
    `| wrong-password logins/s, flood alone | ${int(m((r) => r.floodAlone.rps))} | ${rounds.map((r) => int(r.floodAlone.rps)).join(', ')} |`,
    `| logins/s during flood + probe | ${int(m((r) => r.floodWithProbe.rps))} | ${rounds.map((r) => int(r.floodWithProbe.rps)).join(', ')} |`,
    `| argon2.verify/s alone, ${HASH_CONCURRENCY} at once like tollgate (binding, OWASP params) | ${int(m((r) => r.argon2PerSec))} | ${rounds.map((r) => int(r.argon2PerSec)).join(', ')} |`,
    `| argon2.verify/s alone, 32 at once on the default 4-thread pool (information) | ${int(m((r) => r.argon2PoolPerSec))} | ${rounds.map((r) => int(r.argon2PoolPerSec)).join(', ')} |`,
    `| **logins/s ÷ argon2 verifies/s on the same threads** (goal ≥ 0.9) | **${x(ratio)}** ${ratio >= 0.9 ? 'met' : 'NOT met'} | ${rounds.map((r) => x(r.floodAlone.rps / r.argon2PerSec)).join(', ')} |`,
    `| status codes: flood / probe under flood | ${rounds.map((r) => statusText(r.floodAlone)).join('; ')} / ${rounds.map((r) => statusText(r.probeUnderFlood)).join('; ')} | |`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    'argon2-only': { type: 'boolean' }, duration: { type: 'string' }, rounds: { type: 'string' }, concurrency: { type: 'string' },
    'no-build': { type: 'boolean' }, loadgen: { type: 'string' },
  } });
  const durationSec = Number(values.duration ?? process.env.BENCH_FLOOD_DURATION ?? 6);
  if (values['argon2-only']) {
    process.stdout.write(`BENCH_ARGON2 ${(await argon2Alone(durationSec, Number(values.concurrency ?? 32))).toFixed(2)}\n`);
    return;
  }
  installSignalHandlers();
  try {
    const tool: LoadTool = values.loadgen === 'autocannon' || !(await haveWrk()) ? 'autocannon' : 'wrk';
    if (!values['no-build']) await buildTollgate();
    const dir = scratchDir('tollgate-bench-');
    const target = await startTollgate('tollgate sqlite', { workers: 1, databaseUrl: `sqlite:${dir}/bench.db` });
    const creds = await tollgateUser(target.base);
    const rounds = await loginFlood({ base: target.base, creds, durationSec, rounds: Number(values.rounds ?? 3), tool });
    process.stdout.write(`${floodMarkdown(rounds, { durationSec })}\n`);
  } finally {
    await cleanup();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch(async (error: unknown) => {
    process.stderr.write(`login-flood: ${error instanceof Error ? error.stack : String(error)}\n`);
    await cleanup();
    process.exit(1);
  });
}
