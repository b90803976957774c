/**
 * The two load scenarios of bench/run.ts, per target kind:
 *   auth:    tollgate GET /auth/me, the peers' POST /todo {"title":"x"} (both with a Bearer access
 *            token from a fresh login each round), the bare Fastify GET /;
 *   refresh: real rotations. Each connection's refresh token is used once and the one in the
 *            answer goes back into the pool (see load.ts): never the reuse-grace path.
 * Each measurement: a warm-up (status codes tallied), then the measured run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jwtClaims, peerLogin, refreshTokens, tollgateLogin, type Credentials, type Pair } from './clients.js';
import { load, type LoadSpec, type LoadTool } from './load.js';
import type { Series } from './report.js';
import { scratchDir, type Target } from './targets.js';

export type ScenarioKind = 'auth' | 'cold' | 'refresh';
export const SCENARIO_LABEL: Record<ScenarioKind, string> = {
  auth: 'authenticated request', cold: 'authenticated request, cache-cold tokens', refresh: 'refresh rotation',
};

export interface Measurement {
  readonly target: Target;
  readonly kind: ScenarioKind;
  readonly series: Series;
}

export interface LoadSettings {
  readonly tool: LoadTool;
  readonly durationSec: number;
  readonly warmupSec: number;
  readonly connections: number;
  readonly threads: number;
  /** Distinct access tokens for the cache-cold scenario. */
  readonly coldTokens: number;
}

export class Scenarios {
  /** tollgate users by target name. */
  readonly users = new Map<string, Credentials>();
  /** Redis keys (db 0) that go-seed wrote for logins made here, deleted at the end. */
  readonly goSeedKeys = new Set<string>();
  /** Cache-cold scenario: the file of distinct access tokens, per target, minted once. */
  readonly #coldFiles = new Map<string, string>();
  /**
   * Where each wrk thread stopped in that file: the next run goes on from there, so the tokens
   * ahead were last used a whole cycle ago and have left the cache (a restart would hit them).
   */
  readonly #coldPositions = new Map<string, readonly number[]>();

  async #login(target: Target): Promise<Pair> {
    if (target.kind === 'tollgate') {
      const creds = this.users.get(target.name);
      if (!creds) throw new Error(`no user registered on ${target.name}`);
      return tollgateLogin(target.base, creds);
    }
    const pair = await peerLogin(target.base);
    if (target.kind === 'go-seed') {
      for (const [token, claim] of [[pair.access, 'access_uuid'], [pair.refresh, 'refresh_uuid']] as const) {
        const uuid = jwtClaims(token)[claim];
        if (typeof uuid === 'string') this.goSeedKeys.add(uuid);
      }
    }
    return pair;
  }

  /** The authenticated request of a target, with a token from a fresh login (bare Fastify: its GET /). */
  async authSpec(target: Target): Promise<Omit<LoadSpec, 'connections' | 'threads' | 'durationSec'>> {
    if (target.kind === 'bare') return { url: `${target.base}/`, method: 'GET' };
    const { access } = await this.#login(target);
    const headers = { Authorization: `Bearer ${access}` };
    return target.kind === 'tollgate'
      ? { url: `${target.base}/auth/me`, method: 'GET', headers }
      : { url: `${target.base}/todo`, method: 'POST', headers, body: '{"title":"x"}' };
  }

  async #pool(target: Target, count: number): Promise<string[]> {
    return refreshTokens(count, 8, () => this.#login(target));
  }

  /**
   * Distinct, valid access tokens of one target, minted by refresh rotations (each answer carries
   * a new access token; rotation does not end the session, so all stay valid until they expire).
   */
  async #coldFile(target: Target, s: LoadSettings): Promise<string> {
    const known = this.#coldFiles.get(target.name);
    if (known) return known;
    const dir = scratchDir('tollgate-bench-cold-');
    const tokens = new Set<string>();
    for (let attempt = 0; attempt < 6 && tokens.size < s.coldTokens; attempt++) {
      const pool = await this.#pool(target, s.connections + s.threads);
      const prefix = join(dir, `collect-${attempt}`);
      const seconds = Math.min(30, Math.ceil((s.coldTokens - tokens.size) / 1500) + 1);
      await load(s.tool, { url: `${target.base}/auth/refresh`, method: 'POST', connections: s.connections, threads: s.threads, durationSec: seconds, rotate: pool, collectAccess: prefix });
      for (let t = 0; t < s.threads; t++) {
        try { for (const line of readFileSync(`${prefix}.${t}`, 'utf8').split('\n')) if (line) tokens.add(line); } catch { /* thread wrote none */ }
      }
    }
    if (tokens.size < s.coldTokens) throw new Error(`minted only ${tokens.size} of ${s.coldTokens} access tokens`);
    const file = join(dir, 'tokens.txt');
    writeFileSync(file, `${[...tokens].join('\n')}\n`);
    this.#coldFiles.set(target.name, file);
    return file;
  }

  async measure(m: Measurement, round: number, s: LoadSettings): Promise<void> {
    try {
      const base = { connections: s.connections, threads: s.threads, durationSec: s.durationSec };
      let warm;
      let measured;
      if (m.kind === 'auth') {
        const spec = await this.authSpec(m.target);
        warm = await load(s.tool, { ...spec, ...base, durationSec: s.warmupSec, tally: true });
        measured = await load(s.tool, { ...spec, ...base });
      } else if (m.kind === 'cold') {
        const spec = { url: `${m.target.base}/auth/me`, method: 'GET' as const, bearerFile: await this.#coldFile(m.target, s) };
        const at = (): { bearerStart?: readonly number[] } => {
          const p = this.#coldPositions.get(m.target.name);
          return p ? { bearerStart: p } : {};
        };
        warm = await load(s.tool, { ...spec, ...base, durationSec: s.warmupSec, tally: true, ...at() });
        if (warm.positions) this.#coldPositions.set(m.target.name, warm.positions);
        measured = await load(s.tool, { ...spec, ...base, ...at() });
        if (measured.positions) this.#coldPositions.set(m.target.name, measured.positions);
      } else {
        const url = `${m.target.base}${m.target.kind === 'tollgate' ? '/auth/refresh' : '/token/refresh'}`;
        const warmConnections = Math.min(8, s.connections);
        const warmThreads = Math.min(s.threads, warmConnections);
        const warmPool = await this.#pool(m.target, warmConnections + warmThreads);
        warm = await load(s.tool, { url, method: 'POST', connections: warmConnections, threads: warmThreads, durationSec: s.warmupSec, rotate: warmPool });
        // A pool of one token per connection, plus one per thread (wrk's start-up check request takes one).
        const pool = await this.#pool(m.target, s.connections + s.threads);
        measured = await load(s.tool, { url, method: 'POST', ...base, rotate: pool });
      }
      for (const [k, v] of Object.entries(warm.statuses ?? {})) m.series.warmupStatuses[k] = (m.series.warmupStatuses[k] ?? 0) + v;
      m.series.samples.push({ round, result: measured });
    } catch (error) {
      m.series.failures.push(`round ${round + 1}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
    if (m.target.proc.exited) m.series.failures.push(`${m.target.name} exited (code ${m.target.proc.exitCode})`);
  }
}
