/**
 * Soak: is tollgate's memory steady under sustained load? Starts tollgate on SQLite and, for
 * each of M minutes (default 10), runs wrk against GET /auth/me with one token while a client
 * loop rotates refresh tokens and presents every new access token once (so the verified-token,
 * session and profile caches keep taking new entries up to their bounds). The server's RSS is
 * read from /proc every 5 s; per minute the median and maximum are printed, and the last minute's
 * median against the first's. The server runs with --trace-gc (one short stdout line per
 * collection), so each minute also shows, after its last full collection (Mark-Compact), the
 * live JS objects and the memory the JS heap holds. A JS leak shows in the first; RSS minus the
 * second is native memory (SQLite's page cache, buffers, the allocator's free lists).
 *
 *   node --import tsx bench/soak.ts [--minutes 10] [--no-build]
 *
 * Bounded: M minutes of 50 s load each, the client loop by count (50,000 rotations a minute) and
 * time; loopback only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { http, tollgateLogin, tollgateUser } from './lib/clients.js';
import { load, haveWrk } from './lib/load.js';
import { cleanup, installSignalHandlers } from './lib/procs.js';
import { buildTollgate, scratchDir, startTollgate } from './lib/targets.js';
import { median } from './lib/report.js';

const LOAD_SECONDS = 50;
const SAMPLE_MS = 5_000;
const MAX_ROTATIONS_PER_MINUTE = 50_000;

/**
 * V8's --trace-gc line of a full collection: `… Mark-Compact 120.5 (140.2) -> 80.3 (139.0) MB, …`,
 * the heap's objects (and in brackets the memory it holds from the system) before -> after.
 */
const MARK_COMPACT = /Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/;

interface FullCollection {
  /** MB of live objects, and MB the JS heap holds from the system, after the collection. */
  readonly live: number;
  readonly committed: number;
}

/** Calls `onCollection` for each full collection the child reports on stdout. */
function watchFullCollections(stdout: Readable, onCollection: (gc: FullCollection) => void): void {
  let partial = '';
  stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const match = MARK_COMPACT.exec(line);
      if (match) onCollection({ live: Number(match[1]), committed: Number(match[2]) });
    }
  });
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** Rotates refresh tokens and presents each new access token once, until `deadline`. */
async function churn(base: string, refreshToken: string, deadline: number): Promise<{ rotations: number; failures: number; refreshToken: string }> {
  let token = refreshToken;
  let rotations = 0;
  let failures = 0;
  while (Date.now() < deadline && rotations < MAX_ROTATIONS_PER_MINUTE) {
    const res = await http('POST', `${base}/auth/refresh`, { refresh_token: token });
    if (res.status !== 200) {
      failures++;
      break;
    }
    const pair = res.body as { access_token: string; refresh_token: string };
    token = pair.refresh_token;
    if ((await http('GET', `${base}/auth/me`, undefined, { authorization: `Bearer ${pair.access_token}` })).status !== 200) failures++;
    rotations++;
  }
  return { rotations, failures, refreshToken: token };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string' }, 'no-build': { type: 'boolean' } } });
  const minutes = Math.max(1, Math.min(60, Number(values.minutes ?? 10)));
  installSignalHandlers();
  if (!(await haveWrk())) throw new Error('soak needs wrk (apt-get install wrk)');
  if (!values['no-build']) await buildTollgate();
  const target = await startTollgate('tollgate sqlite', { workers: 1, databaseUrl: `sqlite:${join(scratchDir('tollgate-soak-'), 'soak.db')}`, nodeFlags: ['--trace-gc'] });
  const pid = target.proc.child.pid!;
  let fullCollections: FullCollection[] = [];
  watchFullCollections(target.proc.child.stdout!, (gc) => fullCollections.push(gc));
  const creds = await tollgateUser(target.base);
  const fixed = await tollgateLogin(target.base, creds);
  let { refresh } = await tollgateLogin(target.base, creds);
  const rows: string[] = [
    '| minute | /auth/me req/s | rotations | failures | RSS median MiB | RSS max MiB | full GCs | after the last: live JS MB | JS heap held MB |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const medians: number[] = [];
  for (let minute = 1; minute <= minutes; minute++) {
    fullCollections = [];
    const samples: number[] = [rssMiB(pid)];
    const sampler = setInterval(() => samples.push(rssMiB(pid)), SAMPLE_MS);
    const [wrk, client] = await Promise.all([
      load('wrk', { url: `${target.base}/auth/me`, method: 'GET', headers: { Authorization: `Bearer ${fixed.access}` }, connections: 32, threads: 1, durationSec: LOAD_SECONDS }),
      churn(target.base, refresh, Date.now() + LOAD_SECONDS * 1000),
    ]);
    clearInterval(sampler);
    // Continue the chain next minute, or from a fresh login if a rotation failed.
    refresh = client.failures > 0 ? (await tollgateLogin(target.base, creds)).refresh : client.refreshToken;
    medians.push(median(samples));
    const last = fullCollections.at(-1);
    const [live, held] = last ? [last.live.toFixed(1), last.committed.toFixed(1)] : ['–', '–'];
    rows.push(`| ${minute} | ${Math.round(wrk.rps)} | ${client.rotations} | ${client.failures} | ${median(samples).toFixed(1)} | ${Math.max(...samples).toFixed(1)} | ${fullCollections.length} | ${live} | ${held} |`);
    process.stderr.write(`[soak] minute ${minute}/${minutes}: RSS median ${median(samples).toFixed(1)} MiB; after the last full GC ${live} MB live JS, ${held} MB held by the JS heap\n`);
  }
  process.stdout.write(`${rows.join('\n')}\n\nRSS median, last minute ÷ first minute: ${(medians.at(-1)! / medians[0]!).toFixed(2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}).finally(() => cleanup());
