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
  const sql = openSqlDatabase(urls.databaseUrl);
  const health: StoreHealth[] = [sqlHealth(sql)];
  let sessions: SessionStore = guardStore(sql.dialect, new SqlSessionStore(sql.db, sql.sqlite));
  let counters: CounterStore = new MemoryCounterStore();
  try {
    await describeFailure(sql.dialect, urls.databaseUrl, () => pingSql(sql.db));
    if (options?.migrate !== false) await migrate(sql.db);
    if (urls.redisUrl) {
      const redis = openRedis(urls.redisUrl);
      const bus = new RedisInvalidationBus(redis);
      health.push({
        name: 'redis',
        ping: () => pingRedis(redis),
        close: async () => {
          await bus.close();
          await redis.quit().catch(() => redis.disconnect());
        },
      });
      await describeFailure('redis', urls.redisUrl, () => pingRedis(redis));
      // Sessions are read on every authenticated request: a local cache, kept exact by pub/sub.
      sessions = guardStore('redis', new CachedSessionStore(new RedisSessionStore(redis), bus));
      counters = guardStore('redis', new RedisCounterStore(redis));
    }
  } catch (error) {
    await Promise.allSettled(health.map((h) => h.close()));
    throw error;
  }
  return {
    accounts: guardStore(sql.dialect, new SqlAccountStore(sql.db)),
    todos: guardStore(sql.dialect, new SqlTodoStore(sql.db)),
    keys: guardStore(sql.dialect, new SqlKeyStore(sql.db)),
    sessions,
    counters,
    health,
    close: async () => {
      await Promise.allSettled(health.map((h) => h.close()));
    },
  };
}

function sqlHealth(sql: SqlDatabase): StoreHealth {
  return { name: sql.dialect, ping: () => pingSql(sql.db), close: () => sql.db.destroy() };
}

/** Start-up failures become one line naming the store, without credentials or a stack. */
async function describeFailure(name: string, url: string, check: () => Promise<void>): Promise<void> {
  try {
    await check();
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
