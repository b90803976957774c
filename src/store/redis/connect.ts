/**
 * Opens the Redis named by REDIS_URL:
 *
 * - `redis://[user:pass@]host:port[/db]` or `rediss://…` (TLS): one node;
 * - a comma-separated list of `host:port` (or `redis://`/`rediss://` URLs), or a single `host:port`
 *   without a scheme: seed nodes of a Redis Cluster (credentials and TLS of the first URL that has
 *   them apply to every node);
 * - `redis-sentinel://[user:pass@]host:port,host:port/<masterName>[/db]`: the master that these
 *   Sentinels name (credentials are the master's).
 *
 * The client fails fast while Redis is down (no offline queue, one retry, 2 s connect and command
 * timeouts), so a request needing Redis gets a 503 within seconds instead of hanging, and keeps
 * reconnecting by itself for ever with a capped backoff, so service resumes without a restart.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export const REDIS_CONNECT_TIMEOUT_MS = 2_000;
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;
const RETRY_BASE_MS = 50;
const RETRY_CAP_MS = 2_000;

/** Delay before reconnect attempt `times` (1, 2, …): doubling from 50 ms, capped at 2 s, never giving up. */
export function reconnectDelay(times: number): number {
  const exp = RETRY_BASE_MS * 2 ** Math.min(Math.max(times - 1, 0), 16);
  return Math.min(exp, RETRY_CAP_MS) + Math.floor(Math.random() * 100);
}

const failFast = {
  connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
  commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
  maxRetriesPerRequest: 1,
} satisfies RedisOptions;

/**
 * Commands issued by concurrent requests go out in one write per event-loop turn (per node)
 * instead of one write each. A refresh then made three or four Redis calls (now two: the rate-limit
 * increment and the rotation), and writing each to the socket was 42 % of the event loop's time
 * in a profile of refreshes on a 2-core VM (docs/benchmarks.md).
 */
const batched = { enableAutoPipelining: true } satisfies RedisOptions & ClusterOptions;

export function openRedis(url: string): Redis | Cluster {
  const trimmed = url.trim();
  const client = trimmed.startsWith('redis-sentinel://')
    ? openSentinel(trimmed)
    : trimmed.includes(',') || !/^rediss?:\/\//.test(trimmed)
      ? openCluster(trimmed)
      : new Redis(trimmed, { ...failFast, ...batched, enableOfflineQueue: false, retryStrategy: reconnectDelay });
  // Errors surface on the commands that hit them (as 503s); without a listener an 'error' event
  // would crash the process while Redis is down.
  client.on('error', () => undefined);
  if (client instanceof Cluster) client.on('node error', () => undefined);
  return client;
}

function openCluster(list: string): Cluster {
  const nodes: { host: string; port: number }[] = [];
  const auth: { username?: string; password?: string; tls?: object } = {};
  for (const item of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (/^rediss?:\/\//.test(item)) {
      const u = new URL(item);
      nodes.push({ host: stripBrackets(u.hostname), port: Number(u.port || 6379) });
      if (u.password && auth.password === undefined) {
        auth.password = decodeURIComponent(u.password);
        if (u.username) auth.username = decodeURIComponent(u.username);
      }
      if (u.protocol === 'rediss:') auth.tls = {};
    } else {
      nodes.push(parseHostPort(item));
    }
  }
  if (nodes.length === 0) throw new Error('REDIS_URL names no cluster node');
  const options: ClusterOptions = {
    ...batched,
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnectDelay,
    // Without this a restarted node is only found again after a MOVED or a slots refresh.
    clusterNodeRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: REDIS_CONNECT_TIMEOUT_MS,
    redisOptions: { ...failFast, ...auth },
  };
  return new Cluster(nodes, options);
}

function openSentinel(url: string): Redis {
  const match = /^redis-sentinel:\/\/(?:([^@/]*)@)?([^/]+)\/([^/?#]+)(?:\/(\d+))?\/?$/.exec(url);
  if (!match) throw new Error('REDIS_URL: expected redis-sentinel://host:port,host:port/<masterName>');
  const [, userinfo, hosts, name, db] = match;
  const sentinels = hosts!.split(',').map((h) => parseHostPort(h.trim(), 26379));
  const options: RedisOptions = {
    ...failFast,
    ...batched,
    sentinels,
    name: decodeURIComponent(name!),
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
    sentinelRetryStrategy: reconnectDelay,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
  };
  if (db !== undefined) options.db = Number(db);
  if (userinfo) {
    const colon = userinfo.indexOf(':');
    if (colon < 0) options.password = decodeURIComponent(userinfo);
    else {
      if (colon > 0) options.username = decodeURIComponent(userinfo.slice(0, colon));
      options.password = decodeURIComponent(userinfo.slice(colon + 1));
    }
  }
  return new Redis(options);
}

function parseHostPort(item: string, defaultPort = 6379): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(item);
  if (!match) throw new Error(`REDIS_URL: "${item}" is not host:port`);
  return { host: stripBrackets(match[1]!), port: match[2] ? Number(match[2]) : defaultPort };
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Resolves when Redis answers PING. Waits (at most the connect timeout) for a connection that is
 * still being made, since with the offline queue off a command sent before then fails at once.
 */
export async function pingRedis(client: Redis | Cluster): Promise<void> {
  await whenReady(client, REDIS_CONNECT_TIMEOUT_MS);
  const reply = await client.ping();
  if (reply !== 'PONG') throw new Error(`unexpected PING reply: ${String(reply)}`);
}

function whenReady(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  if (client.status === 'end') return Promise.reject(new Error('Redis connection was closed'));
  return new Promise((resolve, reject) => {
    const done = (error?: Error): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      if (error) reject(error);
      else resolve();
    };
    const onReady = (): void => done();
    const onEnd = (): void => done(new Error('Redis connection was closed'));
    const timer = setTimeout(() => done(new Error(`Redis not ready after ${timeoutMs} ms (status ${client.status})`)), timeoutMs);
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}
