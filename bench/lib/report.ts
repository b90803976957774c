/** Medians, per-round ratios and the markdown tables of the benchmark report. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import type { LoadResult } from './load.js';

export interface Sample {
  readonly round: number;
  readonly result: LoadResult;
}

/** One target in one scenario, measured once per round. */
export interface Series {
  readonly target: string;
  readonly scenario: string;
  readonly samples: Sample[];
  /** Status codes seen during the warm-ups (tallied there, so the measured runs stay lean). */
  readonly warmupStatuses: Record<string, number>;
  readonly failures: string[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
export const ms = (n: number): string => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(2)) : '–');
export const x = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '–');

const statusText = (s: Readonly<Record<string, number>>): string =>
  Object.entries(s).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}×${v}`).join(' ') || '–';

export function seriesTable(all: readonly Series[]): string {
  const rows = ['| scenario | target | median req/s | p50 ms | p99 ms | req/s per round | status ≥ 400 (measured) | socket errors / timeouts | status codes (warm-up / rotation) |', '|---|---|---:|---:|---:|---|---:|---:|---|'];
  for (const s of all) {
    const r = s.samples.map((x) => x.result);
    const statuses: Record<string, number> = { ...s.warmupStatuses };
    for (const res of r) for (const [k, v] of Object.entries(res.statuses ?? {})) statuses[k] = (statuses[k] ?? 0) + v;
    const exhausted = r.reduce((a, b) => a + (b.exhausted ?? 0), 0);
    rows.push(`| ${s.scenario} | ${s.target} | ${int(median(r.map((y) => y.rps)))} | ${ms(median(r.map((y) => y.p50Ms)))} | ${ms(median(r.map((y) => y.p99Ms)))} | ${r.map((y) => int(y.rps)).join(', ') || 'failed'} | ${r.reduce((a, b) => a + b.errorStatus, 0)} | ${r.reduce((a, b) => a + b.socketErrors, 0)} / ${r.reduce((a, b) => a + b.timeouts, 0)} | ${statusText(statuses)}${exhausted ? `; token pool empty ×${exhausted}` : ''}${s.failures.length ? `; FAILED: ${s.failures.join('; ').slice(0, 200)}` : ''} |`);
  }
  return rows.join('\n');
}

export interface Ratio {
  readonly label: string;
  readonly goal?: { readonly op: '>=' | '<='; readonly value: number };
  readonly num: Series | undefined;
  readonly den: Series | undefined;
  readonly metric: 'rps' | 'p99';
  readonly note?: string;
}

/** Ratio per round (both measured in the same round, back to back) or per pair of slices; the report quotes their median. */
export function ratioValues(r: Ratio): number[] {
  if (!r.num || !r.den) return [];
  const pick = (s: Sample): number => (r.metric === 'rps' ? s.result.rps : s.result.p99Ms);
  const out: number[] = [];
  for (const a of r.num.samples) {
    const b = r.den.samples.find((s) => s.round === a.round);
    if (b && pick(b) > 0) out.push(pick(a) / pick(b));
  }
  return out;
}

export function ratioTable(ratios: readonly Ratio[]): string {
  const rows = ['| ratio | goal | median of per-round (per-pair) ratios | per round (per pair) | verdict |', '|---|---|---:|---|---|'];
  for (const r of ratios) {
    const values = ratioValues(r);
    const m = median(values);
    const verdict = !r.goal || values.length === 0 ? (values.length ? 'info' : 'not measured')
      : (r.goal.op === '>=' ? m >= r.goal.value : m <= r.goal.value) ? 'met' : 'NOT met';
    rows.push(`| ${r.label} | ${r.goal ? `${r.goal.op === '>=' ? '≥' : '≤'} ${r.goal.value}` : '–'} | ${x(m)} | ${values.map(x).join(', ') || '–'} | ${verdict}${r.note ? ` (${r.note})` : ''} |`);
  }
  return rows.join('\n');
}

export function machine(): { nproc: number; cpu: string; node: string; date: string } {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return { nproc: availableParallelism(), cpu, node: process.version, date: new Date().toISOString() };
}

/** A tollgate configuration and bare Fastify measured in paired slices (paired.ts). */
export interface PairedSeries {
  readonly tollgate: Series;
  readonly bare: Series;
}

/**
 * The ratios the project's goals name, for whichever targets ran. Where the paired slices ran,
 * they carry the two goals against bare Fastify and the rounds' ratios are shown beside them.
 */
export function goalRatios(find: (kind: string, target: string) => Series | undefined, names: readonly string[], paired: ReadonlyMap<string, PairedSeries> = new Map()): Ratio[] {
  const ratios: Ratio[] = [];
  for (const t of ['tollgate sqlite', 'tollgate postgres+redis'].filter((n) => names.includes(n))) {
    const me = find('auth', t);
    const bare = find('auth', 'bare Fastify');
    const pairs = paired.get(t);
    const rps = { op: '>=', value: 0.85 } as const;
    const p99 = { op: '<=', value: 1.5 } as const;
    const byRounds = pairs ? { note: 'rounds; the paired row decides' } : {};
    ratios.push(
      { label: `${t} GET /auth/me ÷ go-seed POST /todo`, goal: { op: '>=', value: 1.3 }, num: me, den: find('auth', 'go-seed'), metric: 'rps' },
      { label: `${t} GET /auth/me ÷ bare Fastify`, ...(pairs ? {} : { goal: rps }), ...byRounds, num: me, den: bare, metric: 'rps' },
      ...(pairs ? [{ label: `${t} GET /auth/me ÷ bare Fastify, paired slices`, goal: rps, num: pairs.tollgate, den: pairs.bare, metric: 'rps' } as const] : []),
      { label: `${t} p99 ÷ bare Fastify p99`, ...(pairs ? {} : { goal: p99 }), ...byRounds, num: me, den: bare, metric: 'p99' },
      ...(pairs ? [{ label: `${t} p99 ÷ bare Fastify p99, paired slices`, goal: p99, num: pairs.tollgate, den: pairs.bare, metric: 'p99' } as const] : []),
      { label: `${t} refresh ÷ go-seed refresh`, goal: { op: '>=', value: 1.0 }, num: find('refresh', t), den: find('refresh', 'go-seed'), metric: 'rps' },
      { label: `${t} 2 workers ÷ 1 worker (GET /auth/me)`, num: find('auth', `${t} ×2`), den: find('auth', t), metric: 'rps' },
      { label: `${t} ×2 ÷ bare Fastify ×2`, num: find('auth', `${t} ×2`), den: find('auth', 'bare Fastify ×2'), metric: 'rps' },
    );
    const refreshW2 = find('refresh', `${t} ×2`);
    if (refreshW2) {
      ratios.push({ label: `${t} ×2 refresh ÷ go-seed refresh`, num: refreshW2, den: find('refresh', 'go-seed'), metric: 'rps', note: 'two processes; go-seed\'s runtime also uses both cores' });
    }
    const refreshHs256 = find('refresh', `${t} HS256`);
    if (refreshHs256) {
      ratios.push(
        { label: `${t} HS256 refresh ÷ go-seed refresh`, num: refreshHs256, den: find('refresh', 'go-seed'), metric: 'rps', note: 'go-seed\'s algorithm; the goal row signs with the ES256 default' },
        { label: `${t} HS256 ÷ ES256 refresh`, num: refreshHs256, den: find('refresh', t), metric: 'rps', note: 'what the ES256 signature costs a rotation' },
      );
    }
    const cold = find('cold', t);
    if (cold) {
      ratios.push(
        { label: `${t} cache-cold GET /auth/me ÷ go-seed POST /todo`, num: cold, den: find('auth', 'go-seed'), metric: 'rps', note: 'every token new to the verify cache' },
        { label: `${t} cache-cold ÷ same token (GET /auth/me)`, num: cold, den: me, metric: 'rps' },
      );
    }
  }
  ratios.push({ label: 'bare Fastify 2 workers ÷ 1', num: find('auth', 'bare Fastify ×2'), den: find('auth', 'bare Fastify'), metric: 'rps' });
  ratios.push({ label: 'express-jsonwebtoken POST /todo ÷ go-seed', num: find('auth', 'express-jsonwebtoken'), den: find('auth', 'go-seed'), metric: 'rps' });
  return ratios;
}
