/**
 * Soak: is tollgate's memory steady under sustained load? Starts tollgate on SQLite and, for
 * each of M minutes (default 10), runs wrk against GET /auth/me with one token while a client
 * loop rotates refresh tokens and presents every new access token once (so the verified-token,
 * session and profile caches keep taking new entries up to their bounds). The server's RSS is
 * read from /proc every 5 s; per minute the median and maximum are printed, and the last minute's
 * median against the first's.
 *
 *   node --import tsx bench/soak.ts [--minutes 10] [--no-build]
 *
 * Bounded: M minutes of 50 s load each, the client loop by count (50,000 rotations a minute) and
 * time; loopback only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { http, tollgateLogin, tollgateUser } from './lib/clients.js';
import { load, haveWrk } from './lib/load.js';
import { cleanup, installSignalHandlers } from './lib/procs.js';
import { buildTollgate, scratchDir, startTollgate } from './lib/targets.js';
import { median } from './lib/report.js';

const LOAD_SECONDS = 50;
const SAMPLE_MS = 5_000;
const MAX_ROTATIONS_PER_MINUTE = 50_000;

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
  const target = await startTollgate('tollgate sqlite', { workers: 1, databaseUrl: `sqlite:${join(scratchDir('tollgate-soak-'), 'soak.db')}` });
  const pid = target.proc.child.pid!;
  const creds = await tollgateUser(target.base);
  const fixed = await tollgateLogin(target.base, creds);
  let { refresh } = await tollgateLogin(target.base, creds);
  const rows: string[] = ['| minute | /auth/me req/s | rotations | failures | RSS median MiB | RSS max MiB |', '|---:|---:|---:|---:|---:|---:|'];
  const medians: number[] = [];
  for (let minute = 1; minute <= minutes; minute++) {
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
    rows.push(`| ${minute} | ${Math.round(wrk.rps)} | ${client.rotations} | ${client.failures} | ${median(samples).toFixed(1)} | ${Math.max(...samples).toFixed(1)} |`);
    process.stderr.write(`[soak] minute ${minute}/${minutes}: RSS median ${median(samples).toFixed(1)} MiB\n`);
  }
  process.stdout.write(`${rows.join('\n')}\n\nRSS median, last minute ÷ first minute: ${(medians.at(-1)! / medians[0]!).toFixed(2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}).finally(() => cleanup());
