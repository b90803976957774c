/**
 * `tollgate serve`: one process, or with --workers N / TOLLGATE_WORKERS=N a primary that prepares
 * the stores once (migrations, first signing key) and forks N workers sharing the port.
 */
import cluster from 'node:cluster';
import type { Config } from '../config.js';
import { systemClock } from '../core/clock.js';
import { createServices } from '../services.js';
import { startServer } from '../server.js';
import { openStores } from '../store/open.js';
import { relayInvalidations } from '../store/process-bus.js';
import { claimSqliteServeLock } from '../store/sqlite-lock.js';
import { lowerHelperThreads } from '../thread-priority.js';

/** In-flight requests get this long to finish on SIGTERM/SIGINT before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;
/** A worker that dies is replaced, but not in a tight loop if it dies at once every time. */
const RESPAWN_DELAY_MS = 1_000;

export async function serve(config: Config): Promise<void> {
  const release = cluster.isPrimary ? claimServeLock(config) : () => undefined;
  try {
    if (config.workers > 1 && cluster.isPrimary) return await runPrimary(config, release);
    const starting = startServer(config, { migrate: cluster.isPrimary });
    // Signals are handled from the start: a SIGTERM that arrives while starting waits for it, then closes.
    onShutdown(async () => {
      await (await starting).close();
      release();
    });
    const server = await starting;
    const lowered = await lowerHelperThreads(config.helperNice);
    if (lowered > 0) server.app.log.info({ threads: lowered, nice: config.helperNice }, 'helper threads run below the event loop');
  } catch (error) {
    release();
    throw error;
  }
}

/** Sessions in a SQLite file are served by one server only (src/store/sqlite-lock.ts). */
function claimServeLock(config: Config): () => void {
  const path = config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl.slice(7) : undefined;
  if (path === undefined || path === ':memory:' || config.redisUrl) return () => undefined;
  return claimSqliteServeLock(path);
}

async function runPrimary(config: Config, release: () => void): Promise<void> {
  let stopping = false;
  onShutdown(async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      if (!w || w.isDead()) return resolve();
      w.once('exit', () => resolve());
      w.kill('SIGTERM');
    })));
    release();
  });
  // Migrate and create the first key here, once, so workers never race on an empty store.
  const stores = await openStores(config);
  await createServices(config, stores, { clock: systemClock });
  await stores.close();

  relayInvalidations();
  const fork = (): void => void cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    process.stderr.write(`worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    setTimeout(fork, RESPAWN_DELAY_MS).unref();
  });
  for (let i = 0; i < config.workers; i++) fork();
  process.stderr.write(`tollgate primary ${process.pid}: ${config.workers} workers on http://${config.host}:${config.port}\n`);
}

function onShutdown(close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    setTimeout(() => {
      process.stderr.write(`tollgate: shutdown took longer than ${SHUTDOWN_GRACE_MS} ms after ${signal}; exiting\n`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    close().then(() => process.exit(0), (error: unknown) => {
      process.stderr.write(`tollgate: error while shutting down: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
