/**
 * `npm run bench [-- flags]`: builds tollgate, starts it from dist/ in each configuration next to
 * the peer servers and a bare Fastify route, all on 127.0.0.1, measures them round-robin for
 * several rounds, then the login flood and the JWS verify rates; prints a markdown report and
 * writes it to bench/results/<timestamp>.md. Every process it starts is stopped at the end, also
 * on error and on Ctrl-C. See docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { redisCommands, tollgateUser } from './lib/clients.js';
import { haveWrk, type LoadTool } from './lib/load.js';
import { cleanup, installSignalHandlers, run, wasInterrupted } from './lib/procs.js';
import { measurePairs, type PairSettings } from './lib/paired.js';
import { goalRatios, machine, ratioTable, seriesTable, type PairedSeries, type Series } from './lib/report.js';
import { SCENARIO_LABEL, Scenarios, type LoadSettings, type Measurement, type ScenarioKind } from './lib/scenarios.js';
import { REDIS_PORT, buildTollgate, claimRedisDb, createPgDatabase, repoRoot, scratchDir, startBare, startExpress, startGoSeed, startTollgate, verifiedCacheSize, type Target } from './lib/targets.js';
import { floodMarkdown, loginFlood } from './login-flood.js';

const HELP = `npm run bench -- [--quick] [--duration S] [--warmup S] [--rounds N] [--connections N] [--threads N]
  [--pairs N] [--slice S] [--flood-duration S] [--flood-rounds N] [--cold] [--cold-tokens N] [--loadgen wrk|autocannon] [--skip LIST] [--no-build]
--skip takes a comma list of: pg, go-seed, express, bare, workers, hs256, cold, refresh, paired, flood, jws
--cold: the cache-cold scenario for every tollgate configuration (default: tollgate sqlite only; none in --quick)
Env: BENCH_DURATION, BENCH_WARMUP, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_THREADS, BENCH_PAIRS, BENCH_SLICE, BENCH_FLOOD_DURATION, BENCH_FLOOD_ROUNDS,
     BENCH_COLD=1, BENCH_COLD_TOKENS, BENCH_LOADGEN, BENCH_PG_URL, BENCH_REDIS_DB, BENCH_GO_SEED_BIN\n`;

const { values: flags } = parseArgs({ options: {
  quick: { type: 'boolean' }, duration: { type: 'string' }, warmup: { type: 'string' }, rounds: { type: 'string' },
  connections: { type: 'string' }, threads: { type: 'string' }, pairs: { type: 'string' }, slice: { type: 'string' }, 'flood-duration': { type: 'string' }, 'flood-rounds': { type: 'string' }, loadgen: { type: 'string' },
  skip: { type: 'string' }, 'no-build': { type: 'boolean' }, cold: { type: 'boolean' }, 'cold-tokens': { type: 'string' }, help: { type: 'boolean', short: 'h' },
} });
const quick = flags.quick === true;
const num = (flag: string | undefined, env: string, full: number, fast: number): number => {
  const v = Number(flag ?? process.env[env] ?? (quick ? fast : full));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${env}: "${flag ?? process.env[env]}" is not a positive number`);
  return v;
};
/** The refresh-only configuration that signs with go-seed's algorithm. */
const HS256 = 'tollgate postgres+redis HS256';
const skip = new Set((flags.skip ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);

async function chooseTool(): Promise<{ tool: LoadTool; note: string }> {
  const wanted = flags.loadgen ?? process.env.BENCH_LOADGEN ?? 'wrk';
  if (wanted === 'autocannon') return { tool: 'autocannon', note: 'autocannon (asked for)' };
  if (!(await haveWrk()) && process.getuid?.() === 0) {
    log('wrk is missing: apt-get install wrk');
    await run('apt-get install wrk', 'bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk'], { timeoutMs: 300_000 });
  }
  if (await haveWrk()) return { tool: 'wrk', note: (await run('wrk -v', 'wrk', ['--version'], { timeoutMs: 5000 })).out.split('\n')[0]!.trim() };
  return { tool: 'autocannon', note: 'autocannon (wrk not available; one generator thread, so the ceiling is lower)' };
}

async function main(): Promise<void> {
  if (flags.help) return void process.stdout.write(HELP);
  installSignalHandlers();
  const watchdog = setTimeout(() => { log('watchdog: 45 minutes passed, stopping'); void cleanup().finally(() => process.exit(124)); }, 45 * 60_000);
  watchdog.unref();
  const { tool, note: toolNote } = await chooseTool();
  // 1.5× the verified-token cache: cycling through more tokens than it holds makes every request a miss.
  const coldDefault = Math.ceil(1.5 * (verifiedCacheSize() ?? 20_000));
  const settings: LoadSettings = {
    tool, durationSec: num(flags.duration, 'BENCH_DURATION', 5, 3), warmupSec: num(flags.warmup, 'BENCH_WARMUP', 1, 1),
    connections: num(flags.connections, 'BENCH_CONNECTIONS', 64, 64), threads: num(flags.threads, 'BENCH_THREADS', 2, 2),
    coldTokens: num(flags['cold-tokens'], 'BENCH_COLD_TOKENS', coldDefault, coldDefault),
  };
  const rounds = num(flags.rounds, 'BENCH_ROUNDS', 3, 1);
  const pairSettings: PairSettings = { pairs: num(flags.pairs, 'BENCH_PAIRS', 12, 4), sliceSec: num(flags.slice, 'BENCH_SLICE', 2, 2) };
  const floodDuration = num(flags['flood-duration'], 'BENCH_FLOOD_DURATION', 6, 3);
  const floodRounds = num(flags['flood-rounds'], 'BENCH_FLOOD_ROUNDS', 2, 1);
  const host = machine();
  const load0 = loadavg();
  const skipped: string[] = [];
  const problems: string[] = [];

  if (!flags['no-build']) { log('npm run build'); await buildTollgate(); }
  const dir = scratchDir('tollgate-bench-');
  let redisDb: number | undefined;
  let pgUrl: string | undefined;
  try { redisDb = await claimRedisDb(); } catch (e) { skipped.push(`Redis at 127.0.0.1:${REDIS_PORT}: ${reason(e)}`); }
  if (!skip.has('pg')) { try { pgUrl = await createPgDatabase(); } catch (e) { skipped.push(`PostgreSQL: ${reason(e)}`); } }

  const targets: Target[] = [];
  const tryStart = async (label: string, f: () => Promise<Target>): Promise<void> => {
    log(`starting ${label}`);
    try { targets.push(await f()); } catch (e) { skipped.push(`${label}: ${reason(e)}`); }
  };
  const workers = !skip.has('workers');
  await tryStart('tollgate sqlite', () => startTollgate('tollgate sqlite', { workers: 1, databaseUrl: `sqlite:${dir}/bench.db` }));
  if (workers) await tryStart('tollgate sqlite ×2', () => startTollgate('tollgate sqlite ×2', { workers: 2, databaseUrl: `sqlite:${dir}/bench-w2.db` }));
  if (pgUrl && redisDb !== undefined) {
    const stores = { databaseUrl: pgUrl, redisUrl: `redis://127.0.0.1:${REDIS_PORT}/${redisDb}` };
    await tryStart('tollgate postgres+redis', () => startTollgate('tollgate postgres+redis', { workers: 1, ...stores }));
    if (workers && !quick) await tryStart('tollgate postgres+redis ×2', () => startTollgate('tollgate postgres+redis ×2', { workers: 2, ...stores }));
    // go-seed signs HS256 and tollgate ES256 by default: the same server with an HS256 secret (fresh
    // each run, never written out) tells the signature's cost from the rest of a rotation.
    if (!skip.has('hs256') && !quick) {
      const env = { TOLLGATE_JWT_ALG: 'HS256', TOLLGATE_JWT_SECRET: randomBytes(48).toString('base64url') };
      await tryStart(HS256, () => startTollgate(HS256, { workers: 1, ...stores, env }));
    }
  } else if (!skip.has('pg')) skipped.push('tollgate postgres+redis: needs both PostgreSQL and Redis (see above)');
  for (const [key, name, f] of [['go-seed', 'go-seed', startGoSeed], ['express', 'express-jsonwebtoken', () => startExpress(redisDb!)]] as const) {
    if (skip.has(key)) continue;
    if (redisDb === undefined) skipped.push(`${name}: needs Redis at 127.0.0.1:${REDIS_PORT}`);
    else await tryStart(name, f);
  }
  if (!skip.has('bare')) {
    await tryStart('bare Fastify', () => startBare(1));
    if (workers) await tryStart('bare Fastify ×2', () => startBare(2));
  }

  const scenarios = new Scenarios();
  for (const t of targets.filter((t) => t.kind === 'tollgate')) scenarios.users.set(t.name, await tollgateUser(t.base));
  const all: Measurement[] = [];
  const add = (target: Target, kind: ScenarioKind): void => {
    all.push({ target, kind, series: { target: target.name, scenario: SCENARIO_LABEL[kind], samples: [], warmupStatuses: {}, failures: [] } });
  };
  // The two sides of a goal ratio run back to back where they can: this machine's speed drifts
  // over tens of seconds, so two measurements a minute apart disagree by more than the ratio we
  // want to see. go-seed sits between the two single-process tollgates and bare Fastify after
  // SQLite (PostgreSQL + Redis ÷ bare is then three apart); the two refreshes of the goal are next
  // to go-seed's. The order is rotated each round, which keeps neighbours neighbours.
  const AUTH_ORDER = ['tollgate postgres+redis', 'go-seed', 'tollgate sqlite', 'bare Fastify', 'tollgate sqlite ×2', 'bare Fastify ×2', 'tollgate postgres+redis ×2', 'express-jsonwebtoken'];
  const REFRESH_ORDER = ['tollgate sqlite', 'go-seed', 'tollgate postgres+redis', HS256, 'tollgate postgres+redis ×2'];
  const position = (order: readonly string[], t: Target): number => (order.includes(t.name) ? order.indexOf(t.name) : order.length);
  const inOrder = (order: readonly string[]) => (a: Target, b: Target): number => position(order, a) - position(order, b);
  // The HS256 server is there for its refreshes only.
  for (const t of [...targets].filter((t) => t.name !== HS256).sort(inOrder(AUTH_ORDER))) add(t, 'auth');
  const tollgates = targets.filter((t) => t.kind === 'tollgate' && t.workers === 1 && t.name !== HS256);
  const cold = skip.has('cold') ? [] : flags.cold || process.env.BENCH_COLD === '1' ? tollgates : quick ? [] : tollgates.slice(0, 1);
  if (cold.length && tool !== 'wrk') skipped.push('cache-cold scenario: needs wrk');
  else for (const t of cold) add(t, 'cold');
  // Refresh: tollgate against go-seed (the goal's yardstick); express's refresh is not measured.
  // Also PostgreSQL + Redis with two workers: go-seed's Go runtime uses every core by itself.
  const refreshes = (t: Target): boolean => t.kind === 'go-seed' || (t.kind === 'tollgate' && (t.workers === 1 || t.name === 'tollgate postgres+redis ×2'));
  if (!skip.has('refresh')) for (const t of targets.filter(refreshes).sort(inOrder(REFRESH_ORDER))) add(t, 'refresh');

  for (let round = 0; round < rounds; round++) {
    const order = all.map((_, i) => all[(i + round) % all.length]!); // rotate the order each round
    for (const m of order) {
      if (wasInterrupted()) throw new Error('interrupted');
      log(`round ${round + 1}/${rounds}: ${m.series.scenario} · ${m.target.name}`);
      await scenarios.measure(m, round, settings);
    }
  }

  // The goals against bare Fastify, again in paired slices (bench/lib/paired.ts says why).
  const paired = new Map<string, PairedSeries>();
  const bare = targets.find((t) => t.name === 'bare Fastify');
  if (bare && !skip.has('paired')) {
    for (const t of targets.filter((t) => t.name === 'tollgate sqlite' || t.name === 'tollgate postgres+redis')) {
      if (wasInterrupted()) throw new Error('interrupted');
      try {
        const pair = await measurePairs({ name: t.name, spec: await scenarios.authSpec(t) }, { name: `bare Fastify (beside ${t.name})`, spec: await scenarios.authSpec(bare) }, pairSettings, settings, log);
        paired.set(t.name, { tollgate: pair.a, bare: pair.b });
      } catch (e) { problems.push(`paired slices · ${t.name}: ${reason(e)}`); }
    }
  }
  const pairedSeries = [...paired.values()].flatMap((p) => [p.tollgate, p.bare]);
  const measured = [...all.map((m) => m.series), ...pairedSeries];

  let flood = '';
  const floodTarget = targets.find((t) => t.name === 'tollgate sqlite');
  if (!skip.has('flood') && floodTarget) {
    log(`login flood on ${floodTarget.name}`);
    try {
      const fr = await loginFlood({ base: floodTarget.base, creds: scenarios.users.get(floodTarget.name)!, durationSec: floodDuration, rounds: floodRounds, tool });
      flood = floodMarkdown(fr, { durationSec: floodDuration });
    } catch (e) { flood = `failed: ${reason(e)}`; problems.push(`login flood: ${reason(e)}`); }
  }
  let jws = '';
  if (!skip.has('jws')) {
    log('JWS verify rates (one core)');
    const pin = (await run('taskset', 'taskset', ['-V'], { timeoutMs: 5000 }).catch(() => ({ code: 127 }))).code === 0;
    const args = ['--import', 'tsx', join(repoRoot, 'bench/jws.ts'), '--rounds', quick ? '3' : '5', '--ms', quick ? '150' : '300'];
    const r = await run('jws', pin ? 'taskset' : process.execPath, pin ? ['-c', '0', process.execPath, ...args] : args, { cwd: repoRoot, timeoutMs: 300_000 });
    jws = r.code === 0 ? `${r.out.replace(/^BENCH_JWS.*$/m, '').trim()}\n\n${pin ? 'Pinned to one core with `taskset -c 0`.' : 'Not pinned (taskset missing): jose may use a second core.'}` : `failed: ${r.out.slice(-300)}`;
  }

  for (const t of targets) {
    if (t.proc.exited) problems.push(`${t.name} exited during the run (code ${t.proc.exitCode}): ${t.proc.tail.slice(-3).join(' | ')}`);
    if (t.proc.errorLines) problems.push(`${t.name}: ${t.proc.errorLines} error log line(s); last: ${t.proc.tail.slice(-2).join(' | ').slice(0, 400)}`);
  }
  for (const series of measured) {
    const bad = series.samples.reduce((a, s) => a + s.result.errorStatus + s.result.socketErrors + s.result.timeouts, 0);
    if (bad || series.failures.length) problems.push(`${series.scenario} · ${series.target}: ${bad} responses ≥ 400 / socket errors / timeouts in measured runs${series.failures.length ? `; ${series.failures.join('; ')}` : ''}`);
  }
  await cleanup();
  if (scenarios.goSeedKeys.size) {
    try { await redisCommands(REDIS_PORT, 0, [...chunks([...scenarios.goSeedKeys], 200)].map((keys) => ['DEL', ...keys])); } catch (e) { problems.push(`go-seed key cleanup: ${reason(e)}`); }
  }

  const find = (kind: string, target: string): Series | undefined => all.find((m) => m.kind === kind && m.target.name === target)?.series;
  const ratios = goalRatios(find, targets.map((t) => t.name), paired);

  const load1 = loadavg();
  const report = `# tollgate benchmark — ${host.date}

Machine: ${host.nproc} CPUs (${host.cpu}), Node ${host.node}, load generator ${toolNote}; load average ${load0.map((l) => l.toFixed(1)).join(' ')} at start, ${load1.map((l) => l.toFixed(1)).join(' ')} at end.
Settings: ${quick ? '**--quick**, ' : ''}${rounds} round(s) interleaved round-robin, ${settings.durationSec} s per measurement after ${settings.warmupSec} s warm-up; ${skip.has('paired') ? 'no paired slices' : `${pairSettings.pairs} paired ${pairSettings.sliceSec} s slices against bare Fastify`}; ${settings.threads} threads × ${settings.connections} connections; server, stores and load generator share the machine.
Stores: tollgate sqlite = DATABASE_URL=sqlite:<tmp>/bench.db; postgres+redis = a fresh PostgreSQL database and Redis logical db ${redisDb ?? '–'} (flushed); go-seed uses Redis db 0 (it cannot select one), express-jsonwebtoken db ${redisDb ?? '–'}.

## Goals (ratios of measurements made back to back: median over rounds, or over pairs of slices)

${ratioTable(ratios)}

## Throughput and latency

Authenticated request = tollgate GET /auth/me; go-seed / express POST /todo {"title":"x"}; bare Fastify GET / (no auth).
Cache-cold = tollgate GET /auth/me cycling through ${settings.coldTokens} distinct valid access tokens (more than tollgate's per-process verified-token cache holds), so each request verifies a signature; the plain row replays one token, which after the first request is served from that cache.
Refresh rotation = tollgate POST /auth/refresh; peers POST /token/refresh — each refresh token used once, real rotations.

${seriesTable(all.map((m) => m.series))}

## Paired slices (tollgate and bare Fastify alternating)

${paired.size ? `${pairSettings.pairs} pairs of ${pairSettings.sliceSec} s slices per configuration after the rounds, tollgate first in odd-numbered pairs and bare Fastify first in even-numbered ones, no warm-up between slices (one before the first pair). The goal ratios above take the median of the per-pair ratios.

${seriesTable(pairedSeries)}` : 'skipped'}

## Login flood (tollgate sqlite)

${flood || 'skipped'}

## JWS verify, one core (median of rounds)

${jws || 'skipped'}

## Skipped

${skipped.map((s) => `- ${s}`).join('\n') || '- nothing'}

## Problems seen

${problems.map((s) => `- ${s}`).join('\n') || '- none'}
`;
  process.stdout.write(report);
  const results = join(repoRoot, 'bench/results');
  mkdirSync(results, { recursive: true });
  const file = join(results, `${host.date.replace(/[:.]/g, '-')}.md`);
  writeFileSync(file, report);
  log(`written ${file}`);
  if (measured.some((s) => s.failures.length > 0)) process.exitCode = 2; // figures are incomplete
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

main().catch(async (error: unknown) => {
  if (!wasInterrupted()) process.stderr.write(`[bench] failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  await cleanup();
  process.exit(wasInterrupted() ? 130 : 1);
});
