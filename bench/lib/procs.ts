/**
 * Child processes of the benchmark: every process is started in its own process group and
 * remembered, so that stopAll() (also on error, SIGINT and SIGTERM) ends it and its children
 * (cluster workers, npm's scripts) by group id. Nothing else is ever signalled.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last lines of stdout+stderr, for diagnostics. */
  readonly tail: string[];
  /** Lines that look like error logs (pino level >= 50, "Error", "panic"). */
  errorLines: number;
  exited: boolean;
  exitCode: number | null;
}

const running = new Set<Proc>();
const TAIL_LINES = 40;
/** Set on SIGINT/SIGTERM: nothing new is started while (and after) everything is stopped. */
let interrupted = false;

function refuseIfInterrupted(name: string): void {
  if (interrupted) throw new Error(`not starting ${name}: the benchmark was interrupted`);
}

export function start(name: string, command: string, args: string[], options: SpawnOptions = {}): Proc {
  refuseIfInterrupted(name);
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: Proc = { name, child, tail: [], errorLines: 0, exited: false, exitCode: null };
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      if (/"level":(5|6)\d|\bpanic\b|Error\b/.test(line)) proc.errorLines++;
      proc.tail.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
      if (proc.tail.length > TAIL_LINES) proc.tail.shift();
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.on('error', (error) => proc.tail.push(`spawn error: ${error.message}`));
  child.on('exit', (code, signal) => {
    proc.exited = true;
    proc.exitCode = code ?? (signal ? 128 : null);
    running.delete(proc);
  });
  running.add(proc);
  return proc;
}

/** Runs a command to completion (bounded by timeoutMs) and returns its output. */
export async function run(name: string, command: string, args: string[], options: SpawnOptions & { timeoutMs: number }): Promise<{ code: number | null; out: string }> {
  refuseIfInterrupted(name);
  const { timeoutMs, ...spawnOptions } = options;
  const child = spawn(command, args, { ...spawnOptions, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: Proc = { name, child, tail: [], errorLines: 0, exited: false, exitCode: null };
  running.add(proc);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  child.stderr?.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  const timer = setTimeout(() => { out += `\n[bench] ${name} timed out after ${timeoutMs} ms\n`; kill(proc, 'SIGKILL'); }, timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve) => {
      child.on('error', (error) => { out += `spawn error: ${error.message}\n`; resolve(127); });
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    });
    return { code, out };
  } finally {
    clearTimeout(timer);
    running.delete(proc);
  }
}

function kill(proc: Proc, signal: NodeJS.Signals): void {
  const pid = proc.child.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal); // the whole group this process leads
  } catch {
    try { proc.child.kill(signal); } catch { /* already gone */ }
  }
}

/** SIGTERM, then SIGKILL after graceMs if it has not exited. */
export async function stop(proc: Proc, graceMs = 5000): Promise<void> {
  if (proc.exited) return;
  const exited = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
  kill(proc, 'SIGTERM');
  const ok = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!ok) {
    kill(proc, 'SIGKILL');
    await Promise.race([exited, sleep(1000)]);
  }
  // Cluster workers may outlive their primary for a moment; the group kill reaches them too.
  kill(proc, 'SIGKILL');
  running.delete(proc);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => stop(p)));
}

let cleanupHooks: Array<() => Promise<void>> = [];
/** Extra cleanup (drop the database, flush the Redis db) run after the processes are stopped. */
export function onCleanup(hook: () => Promise<void>): void {
  cleanupHooks.push(hook);
}

let cleaning: Promise<void> | undefined;
/** Stops every process, then runs the cleanup hooks; concurrent callers share the one run. */
export function cleanup(): Promise<void> {
  cleaning ??= runCleanup().finally(() => { cleaning = undefined; });
  return cleaning;
}

export const wasInterrupted = (): boolean => interrupted;

async function runCleanup(): Promise<void> {
  await stopAll();
  const hooks = cleanupHooks.reverse();
  cleanupHooks = [];
  for (const hook of hooks) {
    try { await hook(); } catch (error) { process.stderr.write(`[bench] cleanup: ${(error as Error).message}\n`); }
  }
}

/** SIGINT/SIGTERM: stop everything and exit; process exit: last-chance synchronous SIGKILL. */
export function installSignalHandlers(): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    interrupted = true;
    process.stderr.write(`\n[bench] ${signal}: stopping every process started by the benchmark\n`);
    const force = setTimeout(() => process.exit(130), 20_000);
    force.unref();
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => { for (const p of running) kill(p, 'SIGKILL'); });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns true, the process exits, or timeoutMs passes. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, proc?: Proc): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc?.exited) throw new Error(`${what}: process exited (code ${proc.exitCode}):\n${proc.tail.slice(-15).join('\n')}`);
    if (await probe().catch(() => false)) return;
    await sleep(150);
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms${proc ? `:\n${proc.tail.slice(-15).join('\n')}` : ''}`);
}
