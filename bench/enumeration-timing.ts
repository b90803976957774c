/**
 * User enumeration by timing: does a login for an unknown username take as long as a login for a
 * real user with a wrong password? Both must cost one argon2id verification (src/core/accounts.ts,
 * PasswordHasher.verifyNobody), so the difference should be noise.
 *
 * Runs the real app in process (app.inject, no sockets) with the REAL argon2 parameters
 * (OWASP_ARGON2: 19 MiB, 2 passes, 1 lane), one request at a time, the two kinds interleaved in a
 * random order per pair so drift (thermal, GC, other load) hits both alike. A warm-up runs first
 * (the unknown-user path builds its dummy hash on first use). Prints median and p90 of each and
 * the difference of the medians in ms and %.
 *
 *   node --import tsx bench/enumeration-timing.ts [--n 200] [--warmup 10]
 */
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.js';
import { parseConfig } from '../src/config.js';
import { OWASP_ARGON2, PasswordHasher } from '../src/core/passwords.js';
import { systemClock } from '../src/core/clock.js';
import { createServices } from '../src/services.js';
import { openStores } from '../src/store/open.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200' }, warmup: { type: 'string', default: '10' } } });
const N = Math.min(Math.max(Number(values.n), 1), 2000);
const WARMUP = Math.max(Number(values.warmup), 1);

const config = parseConfig({
  DATABASE_URL: 'sqlite::memory:',
  LOG_LEVEL: 'silent',
  // The limits would answer 429 long before N attempts; this measures the credential check itself.
  TOLLGATE_RATE_LIMIT_IP: '1000000',
  TOLLGATE_RATE_LIMIT_ACCOUNT: '1000000',
});
const stores = await openStores(config);
const services = await createServices(config, stores, { clock: systemClock, hasher: new PasswordHasher(OWASP_ARGON2) });
const app = await buildApp(services);

const PASSWORD = 'correct horse battery staple';
const WRONG = 'wrong horse battery staple!';
const registered = await app.inject({ method: 'POST', url: '/auth/register', payload: { username: 'victim', password: PASSWORD } });
if (registered.statusCode !== 201) throw new Error(`register failed: ${registered.statusCode} ${registered.body}`);

type Kind = 'unknown user' | 'wrong password';
const USERNAME: Record<Kind, string> = { 'unknown user': 'nobody-here', 'wrong password': 'victim' };

let firstBody: string | undefined;
async function attempt(kind: Kind): Promise<number> {
  const start = process.hrtime.bigint();
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: USERNAME[kind], password: WRONG } });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (res.statusCode !== 401) throw new Error(`${kind}: expected 401, got ${res.statusCode} ${res.body}`);
  firstBody ??= res.body;
  if (res.body !== firstBody) throw new Error(`${kind}: body differs: ${res.body} vs ${firstBody}`);
  return elapsed;
}

for (let i = 0; i < WARMUP; i++) {
  await attempt('unknown user');
  await attempt('wrong password');
}

const samples: Record<Kind, number[]> = { 'unknown user': [], 'wrong password': [] };
for (let i = 0; i < N; i++) {
  const order: Kind[] = Math.random() < 0.5 ? ['unknown user', 'wrong password'] : ['wrong password', 'unknown user'];
  for (const kind of order) samples[kind].push(await attempt(kind));
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const stats = Object.fromEntries(Object.entries(samples).map(([kind, values]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return [kind, { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), min: sorted[0]!, max: sorted[sorted.length - 1]! }];
})) as Record<Kind, { median: number; p90: number; min: number; max: number }>;

const f = (v: number) => v.toFixed(2).padStart(8);
console.log(`login timing, argon2id m=${OWASP_ARGON2.memoryCost} KiB t=${OWASP_ARGON2.timeCost} p=${OWASP_ARGON2.parallelism}, N=${N} each, interleaved (warm-up ${WARMUP})`);
console.log(`${'case'.padEnd(16)}${'median ms'.padStart(10)}${'p90 ms'.padStart(10)}${'min ms'.padStart(10)}${'max ms'.padStart(10)}`);
for (const kind of Object.keys(stats) as Kind[]) {
  const s = stats[kind];
  console.log(`${kind.padEnd(16)}  ${f(s.median)}  ${f(s.p90)}  ${f(s.min)}  ${f(s.max)}`);
}
const diff = stats['unknown user'].median - stats['wrong password'].median;
const pct = (diff / stats['wrong password'].median) * 100;
console.log(`difference of medians (unknown − wrong password): ${diff.toFixed(2)} ms (${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %)`);
console.log(`identical 401 body for both: ${firstBody}`);

await app.close();
await stores.close();
