/**
 * Opens the stores the configuration names: the SQL database (SQLite file by default, or
 * PostgreSQL) for accounts, todos and keys, and sessions there too unless REDIS_URL moves them
 * to Redis. Every store is wrapped by guardStore, so an engine failure is a 503, never a 500.
 */
import { guardStore } from './guard.js';
import { migrate } from './sql/migrations.js';
import { openSqlDatabase, pingSql, type SqlDatabase } from './sql/database.js';
import { SqlAccountStore } from './sql/accounts.js';
import { SqlKeyStore } from './sql/keys.js';
import { SqlSessionStore } from './sql/sessions.js';
import { SqlTodoStore } from './sql/todos.js';
import { openRedis, pingRedis } from './redis/connect.js';
import { RedisSessionStore } from './redis/sessions.js';
import { RedisInvalidationBus } from './redis/invalidation-bus.js';
import { CachedSessionStore } from './session-cache.js';
import { ProcessBus } from './process-bus.js';
import { MemoryCounterStore } from './memory-counters.js';
import { RedisCounterStore } from './redis/counters.js';
import type { CounterStore, SessionStore, StoreHealth, Stores } from './types.js';
import { redactUrl } from '../config.js';

export interface StoreUrls {
  readonly databaseUrl: string;
  readonly redisUrl?: string | undefined;
}

export interface OpenedStores extends Stores {
  close(): Promise<void>;
}

/** Opens, migrates (safe with several instances at once) and checks every configured store. */
export async function openStores(urls: StoreUrls, options?: { migrate?: boolean }): Promise<OpenedStores> {
  const dialect = urls.databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgres';
  const sql = await describeFailure(dialect, urls.databaseUrl, async () => openSqlDatabase(urls.databaseUrl));
  const health: StoreHealth[] = [sqlHealth(sql)];
  let shared: { sessions: SessionStore; counters: CounterStore };
  try {
    await describeFailure(sql.dialect, urls.databaseUrl, () => pingSql(sql.db));
    if (options?.migrate !== false) await migrate(sql.db);
    shared = urls.redisUrl ? await openRedisStores(urls.redisUrl, health) : { sessions: sqlSessionStore(sql), counters: new MemoryCounterStore() };
  } catch (error) {
    await Promise.allSettled(health.map((h) => h.close()));
    throw error;
  }
  return {
    accounts: guardStore(sql.dialect, new SqlAccountStore(sql.db)),
    todos: guardStore(sql.dialect, new SqlTodoStore(sql.db)),
    keys: guardStore(sql.dialect, new SqlKeyStore(sql.db)),
    ...shared,
    health,
    close: async () => {
      await Promise.allSettled(health.map((h) => h.close()));
    },
  };
}

/**
 * Sessions in the database. On SQLite (one server per file, see sqlite-lock.ts) live sessions are
 * cached per process and kept exact over the cluster IPC channel: the session read is the largest
 * cost of an authenticated request. PostgreSQL sessions are not cached, since other servers'
 * changes would not reach this process; use Redis for sessions with several servers.
 */
function sqlSessionStore(sql: SqlDatabase): SessionStore {
  const store = new SqlSessionStore(sql.db, sql.sqlite);
  return guardStore(sql.dialect, sql.sqlite ? new CachedSessionStore(store, new ProcessBus()) : store);
}

/** Sessions and rate-limit counters in Redis; sessions cached per process, kept exact by pub/sub. */
async function openRedisStores(url: string, health: StoreHealth[]): Promise<{ sessions: SessionStore; counters: CounterStore }> {
  const redis = openRedis(url);
  const bus = new RedisInvalidationBus(redis);
  health.push({
    name: 'redis',
    ping: () => pingRedis(redis),
    close: async () => {
      await bus.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  });
  await describeFailure('redis', url, () => pingRedis(redis));
  return {
    sessions: guardStore('redis', new CachedSessionStore(new RedisSessionStore(redis), bus)),
    counters: guardStore('redis', new RedisCounterStore(redis)),
  };
}

function sqlHealth(sql: SqlDatabase): StoreHealth {
  return { name: sql.dialect, ping: () => pingSql(sql.db), close: () => sql.db.destroy() };
}

/** Start-up failures become one line naming the store, without credentials or a stack. */
async function describeFailure<T>(name: string, url: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new StoreStartError(`cannot reach ${name} at ${redactUrl(url)}: ${reason}`);
  }
}

export class StoreStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreStartError';
  }
}
