/**
 * Fallback load generator when wrk is not installed: runs autocannon (a devDependency) in this
 * child process with the LoadSpec given as JSON in argv[2]; prints one BENCH_RESULT line.
 * One generator thread only, so it saturates before wrk would: say so when quoting its figures.
 */
import { createRequire } from 'node:module';
import type { LoadResult, LoadSpec } from './load.js';

interface Histogram { readonly p50: number; readonly p99: number }
interface AutocannonResult {
  readonly latency: Histogram;
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodeStats?: Record<string, { count: number | string }>;
  readonly [key: string]: unknown;
}
interface Request {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: Request, context: object) => Request;
  onResponse?: (status: number, body: string, context: object) => void;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const url = new URL(spec.url);
const headers = { ...(spec.body !== undefined || spec.rotate ? { 'content-type': 'application/json' } : {}), ...spec.headers };

let exhausted = 0;
const pool = [...(spec.rotate ?? [])];
const request: Request = { method: spec.method, path: url.pathname, headers, ...(spec.body !== undefined ? { body: spec.body } : {}) };
if (spec.rotate) {
  request.setupRequest = (req) => {
    const token = pool.shift() ?? (exhausted++, 'exhausted');
    return { ...req, method: 'POST', body: JSON.stringify({ refresh_token: token }) };
  };
  request.onResponse = (status, body) => {
    if (status < 200 || status >= 300) return;
    const match = /"refresh_token"\s*:\s*"([^"]+)"/.exec(body);
    if (match?.[1]) pool.push(match[1]);
  };
}

const result = await autocannon({
  url: url.origin,
  connections: spec.connections,
  duration: spec.durationSec,
  timeout: 5,
  requests: [request],
  ...(spec.delayMs ? { overallRate: Math.max(1, Math.round((spec.connections * 1000) / spec.delayMs)) } : {}),
});

const statuses: Record<string, number> = {};
let total = 0;
let errorStatus = 0;
for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
  statuses[code] = Number(count);
  total += Number(count);
  if (Number(code) >= 400) errorStatus += Number(count);
}
const out: LoadResult = {
  tool: 'autocannon',
  requests: total,
  seconds: result.duration,
  rps: total / result.duration,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  errorStatus,
  socketErrors: result.errors - result.timeouts,
  timeouts: result.timeouts,
  ...(spec.tally || spec.rotate ? { statuses } : {}),
  ...(spec.rotate ? { exhausted } : {}),
};
process.stdout.write(`BENCH_RESULT ${JSON.stringify(out)}\n`);
