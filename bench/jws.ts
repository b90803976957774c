/**
 * Verify rate of one access token, one core: tollgate's src/core/jws.ts verifyCompact against jose
 * (compactVerify: the same job; jwtVerify: plus claim checks) and fast-jwt when it is installed
 * (it is not a dependency: then its column says so). ES256, EdDSA, RS256 and HS256.
 *
 * Each round runs each (library, algorithm) pair for --ms milliseconds (and at most
 * --max iterations), one verification at a time; the figure is the median of --rounds rounds.
 * bench/run.ts runs this under `taskset -c 0` so that jose's WebCrypto jobs (thread pool) share
 * the one core too.   node --import tsx bench/jws.ts [--rounds 5] [--ms 300] [--json]
 */
import { createPublicKey, createSecretKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { parseArgs } from 'node:util';
import * as jose from 'jose';
import { JWS_ALGS, signCompact, verifyCompact, type JwsAlg, type JwsKey } from '../src/core/jws.js';

type Verify = (token: string) => unknown;
interface Impl { readonly name: string; readonly make: (alg: JwsAlg, key: JwsKey, pub: KeyObject) => Promise<Verify | string> }

const ISSUER = 'http://127.0.0.1:8080';
const AUDIENCE = 'tollgate';

function keyFor(alg: JwsAlg): { key: JwsKey; pub: KeyObject } {
  const kid = `bench-${alg}`;
  if (alg === 'HS256') {
    const secret = createSecretKey(randomBytes(32));
    return { key: { kid, alg, key: secret }, pub: secret };
  }
  const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { key: { kid, alg, key: pair.privateKey }, pub: createPublicKey(pair.privateKey) };
}

const IMPLS: readonly Impl[] = [
  {
    name: 'tollgate verifyCompact',
    make: async (_alg, key, pub) => {
      const verifyKey: JwsKey = { kid: key.kid, alg: key.alg, key: pub };
      return (token) => verifyCompact(token, (kid) => (kid === verifyKey.kid ? verifyKey : undefined));
    },
  },
  {
    name: 'jose compactVerify',
    make: async (alg, _key, pub) => {
      const k = alg === 'HS256' ? pub.export() : await jose.importJWK(pub.export({ format: 'jwk' }), alg);
      return (token) => jose.compactVerify(token, k, { algorithms: [alg] });
    },
  },
  {
    name: 'jose jwtVerify',
    make: async (alg, _key, pub) => {
      const k = alg === 'HS256' ? pub.export() : await jose.importJWK(pub.export({ format: 'jwk' }), alg);
      return (token) => jose.jwtVerify(token, k, { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt' });
    },
  },
  {
    name: 'fast-jwt',
    make: async (alg, _key, pub) => {
      const name = 'fast-jwt'; // not a dependency: a variable specifier keeps the typecheck quiet
      let mod: { createVerifier: (o: Record<string, unknown>) => Verify };
      try {
        mod = (await import(name)) as typeof mod;
      } catch {
        return 'not installed';
      }
      const k = alg === 'HS256' ? pub.export() : pub.export({ type: 'spki', format: 'pem' });
      return mod.createVerifier({ key: k, algorithms: [alg], allowedIss: ISSUER, allowedAud: AUDIENCE });
    },
  },
];

/** Verifications per second, one at a time, for up to `budgetMs` and `max` iterations. */
async function rate(verify: Verify, token: string, budgetMs: number, max: number): Promise<number> {
  const first = verify(token);
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  let n = 0;
  const start = performance.now();
  const end = start + budgetMs;
  if (isAsync) {
    while (n < max && (n % 16 !== 0 || performance.now() < end)) { await verify(token); n++; }
  } else {
    while (n < max && (n % 64 !== 0 || performance.now() < end)) { verify(token); n++; }
  }
  return n / ((performance.now() - start) / 1000);
}

export interface JwsRow { readonly alg: JwsAlg; readonly rates: Record<string, number | string> }

export async function measureJws(rounds: number, budgetMs: number, max: number): Promise<JwsRow[]> {
  const rows: JwsRow[] = [];
  for (const alg of JWS_ALGS) {
    const { key, pub } = keyFor(alg);
    const now = Math.floor(Date.now() / 1000);
    const token = signCompact({ typ: 'at+jwt' }, { iss: ISSUER, sub: randomUUID(), aud: AUDIENCE, exp: now + 900, iat: now, jti: randomUUID(), sid: randomUUID() }, key);
    const verifiers = new Map<string, Verify | string>();
    for (const impl of IMPLS) verifiers.set(impl.name, await impl.make(alg, key, pub));
    for (const v of verifiers.values()) if (typeof v === 'function') await rate(v, token, budgetMs / 3, max); // warm-up
    const samples = new Map<string, number[]>();
    for (let r = 0; r < rounds; r++) {
      for (const [name, v] of verifiers) {
        if (typeof v === 'function') samples.set(name, [...(samples.get(name) ?? []), await rate(v, token, budgetMs, max)]);
      }
    }
    const rates: Record<string, number | string> = {};
    for (const [name, v] of verifiers) {
      const s = (samples.get(name) ?? []).sort((a, b) => a - b);
      rates[name] = typeof v === 'string' ? v : s[Math.floor(s.length / 2)]!;
    }
    rows.push({ alg, rates });
  }
  return rows;
}

export function jwsMarkdown(rows: readonly JwsRow[]): string {
  const names = IMPLS.map((i) => i.name);
  const fmt = (v: number | string | undefined): string => (typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : v ?? '–');
  const ratio = (a: number | string | undefined, b: number | string | undefined): string => (typeof a === 'number' && typeof b === 'number' ? (a / b).toFixed(2) : '–');
  return [
    `| alg | ${names.map((n) => `${n} /s`).join(' | ')} | ours ÷ jose compactVerify | ours ÷ jose jwtVerify |`,
    `|---|${names.map(() => '---:').join('|')}|---:|---:|`,
    ...rows.map((r) => `| ${r.alg} | ${names.map((n) => fmt(r.rates[n])).join(' | ')} | ${ratio(r.rates[names[0]!], r.rates['jose compactVerify'])} | ${ratio(r.rates[names[0]!], r.rates['jose jwtVerify'])} |`),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, ms: { type: 'string' }, max: { type: 'string' }, json: { type: 'boolean' } } });
  const rows = await measureJws(Number(values.rounds ?? 5), Number(values.ms ?? 300), Number(values.max ?? 2_000_000));
  process.stdout.write(`${jwsMarkdown(rows)}\n`);
  if (values.json) process.stdout.write(`BENCH_JWS ${JSON.stringify(rows)}\n`);
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(`jws bench: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
