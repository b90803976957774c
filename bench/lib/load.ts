/**
 * Load generation: wrk with a generated Lua script (method, body, headers; optional status
 * tally; optional refresh-token rotation; optional pacing), or autocannon in a child process
 * when wrk is missing. Every run is bounded by its duration plus a hard kill timer.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup, run } from './procs.js';

export interface LoadSpec {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly connections: number;
  readonly threads: number;
  readonly durationSec: number;
  /** Count responses per status code (costs the generator a little: it must read bodies). */
  readonly tally?: boolean;
  /** Refresh rotation: a pool of refresh tokens; each response's refresh_token is used next. */
  readonly rotate?: readonly string[];
  /** Each connection waits this long between requests (a paced probe, not a saturating one). */
  readonly delayMs?: number;
  /** Rotation: append each answer's access_token to `<collectAccess>.<thread>` (wrk only). */
  readonly collectAccess?: string;
  /** Send `Authorization: Bearer <token>` cycling through this file's lines, one per request (wrk only). */
  readonly bearerFile?: string;
  /** With bearerFile: each thread's index to continue from (the `positions` of the previous run). */
  readonly bearerStart?: readonly number[];
}

export interface LoadResult {
  readonly tool: 'wrk' | 'autocannon';
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Responses with status >= 400 (wrk's "Non-2xx or 3xx" counter counts exactly these). */
  readonly errorStatus: number;
  readonly socketErrors: number;
  readonly timeouts: number;
  /** Only with tally or rotate. */
  readonly statuses?: Readonly<Record<string, number>>;
  /** Rotation: requests sent with no token left in the pool (sessions lost to errors). */
  readonly exhausted?: number;
  /** With bearerFile: where each thread stopped in the token list. */
  readonly positions?: readonly number[];
}

export type LoadTool = 'wrk' | 'autocannon';

let scratch: string | undefined;
let scriptCount = 0;
function scratchDir(): string {
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-lua-'));
    scratch = dir;
    onCleanup(async () => { rmSync(dir, { recursive: true, force: true }); scratch = undefined; });
  }
  return scratch;
}
const lua = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/** The generated wrk script; `done` prints one BENCH_RESULT JSON line. */
export function wrkScript(spec: LoadSpec): string {
  const path = new URL(spec.url).pathname;
  const headers = { ...(spec.body !== undefined || spec.rotate ? { 'Content-Type': 'application/json' } : {}), ...spec.headers };
  const out = [`wrk.method = ${lua(spec.method)}`];
  if (spec.body !== undefined) out.push(`wrk.body = ${lua(spec.body)}`);
  for (const [k, v] of Object.entries(headers)) out.push(`wrk.headers[${lua(k)}] = ${lua(v)}`);
  out.push(`
local threads, nthreads = {}, 0
function setup(thread) thread:set("tid", nthreads); nthreads = nthreads + 1; table.insert(threads, thread) end
statuses, exhausted = {}, 0`);
  if (spec.rotate) {
    out.push(`local all = { ${spec.rotate.map(lua).join(', ')} }
local q, qh, qt = {}, 1, 0
local cf
function init(args)
  for i, t in ipairs(all) do if (i - 1) % ${spec.threads} == tid then qt = qt + 1; q[qt] = t end end${spec.collectAccess ? `
  cf = io.open(${lua(spec.collectAccess)} .. "." .. tid, "w"); cf:setvbuf("line")` : ''}
end
function request()
  local t = "exhausted"
  if qh <= qt then t = q[qh]; q[qh] = nil; qh = qh + 1 else exhausted = exhausted + 1 end
  return wrk.format("POST", ${lua(path)}, nil, '{"refresh_token":"' .. t .. '"}')
end`);
  }
  if (spec.bearerFile) {
    // Each thread starts half a cycle (for two threads) from the others, so a token comes round
    // again only after about as many requests as there are tokens.
    out.push(`local toks, n, hdrs = {}, 0, {}
bench_pos = 0
function init(args)
  for line in io.lines(${lua(spec.bearerFile)}) do if line ~= "" then n = n + 1; toks[n] = line end end
  local start = { ${(spec.bearerStart ?? []).join(', ')} }
  bench_pos = (start[tid + 1] or math.floor(n * tid / ${spec.threads})) % n
end
function request()
  bench_pos = bench_pos % n + 1
  hdrs["Authorization"] = "Bearer " .. toks[bench_pos]
  return wrk.format(nil, nil, hdrs)
end`);
  }
  if (spec.tally || spec.rotate) {
    out.push(`function response(status, headers, body)
  local k = tostring(status); statuses[k] = (statuses[k] or 0) + 1${spec.rotate ? `
  if status >= 200 and status < 300 then
    local t = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
    if t then qt = qt + 1; q[qt] = t end${spec.collectAccess ? `
    local a = string.match(body, '"access_token"%s*:%s*"([^"]+)"')
    if a and cf then cf:write(a, "\\n") end` : ''}
  end` : ''}
end`);
  }
  if (spec.delayMs) out.push(`function delay() return ${Math.round(spec.delayMs)} end`);
  out.push(`function done(summary, latency, requests)
  local merged, ex, pos = {}, 0, {}
  for _, t in ipairs(threads) do
    table.insert(pos, tostring(t:get("bench_pos") or 0))
    for k, v in pairs(t:get("statuses") or {}) do merged[k] = (merged[k] or 0) + v end
    ex = ex + (t:get("exhausted") or 0)
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format('BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"status_errors":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"exhausted":%d,"pos":[%s],"statuses":{%s}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status, e.connect, e.read, e.write, e.timeout, ex, table.concat(pos, ","), table.concat(parts, ",")))
end`);
  return `${out.join('\n')}\n`;
}

export async function load(tool: LoadTool, spec: LoadSpec): Promise<LoadResult> {
  return tool === 'wrk' ? runWrk(spec) : runAutocannon(spec);
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const file = join(scratchDir(), `s${++scriptCount}.lua`);
  writeFileSync(file, wrkScript(spec));
  const seconds = Math.max(1, Math.round(spec.durationSec)); // wrk takes whole seconds only
  const args = ['-t', String(spec.threads), '-c', String(spec.connections), '-d', `${seconds}s`, '--timeout', '5s', '-s', file, spec.url];
  const { code, out } = await run('wrk', 'wrk', args, { timeoutMs: (seconds + 20) * 1000 });
  const line = /^BENCH_RESULT (.*)$/m.exec(out);
  if (code !== 0 || !line?.[1]) throw new Error(`wrk failed (exit ${code}): ${out.slice(-800)}`);
  const r = JSON.parse(line[1]) as Record<string, number> & { statuses: Record<string, number>; pos: number[] };
  const measured = r.duration_us! / 1e6;
  return {
    tool: 'wrk',
    requests: r.requests!,
    seconds: measured,
    rps: r.requests! / measured,
    p50Ms: r.p50_us! / 1000,
    p99Ms: r.p99_us! / 1000,
    errorStatus: r.status_errors!,
    socketErrors: r.connect! + r.read! + r.write!,
    timeouts: r.timeout!,
    ...(spec.tally || spec.rotate ? { statuses: r.statuses } : {}),
    ...(spec.rotate ? { exhausted: r.exhausted! } : {}),
    ...(spec.bearerFile ? { positions: r.pos } : {}),
  };
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  if (spec.collectAccess || spec.bearerFile) throw new Error('the cache-cold scenario needs wrk');
  const child = fileURLToPath(new URL('./autocannon-child.ts', import.meta.url));
  const { code, out } = await run('autocannon', process.execPath, ['--import', 'tsx', child, JSON.stringify(spec)], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    timeoutMs: (spec.durationSec + 30) * 1000,
  });
  const line = /^BENCH_RESULT (.*)$/m.exec(out);
  if (code !== 0 || !line?.[1]) throw new Error(`autocannon failed (exit ${code}): ${out.slice(-800)}`);
  return JSON.parse(line[1]) as LoadResult;
}

/** True when `wrk` runs here. */
export async function haveWrk(): Promise<boolean> {
  const { code, out } = await run('wrk --version', 'wrk', ['--version'], { timeoutMs: 5000 }).catch(() => ({ code: 127, out: '' }));
  return code !== 127 && /wrk/i.test(out);
}
