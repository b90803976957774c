/**
 * Sessions in Redis (REDIS_URL set): one standalone node, a Sentinel-managed master or a Redis
 * Cluster. Times are milliseconds since the epoch. Full reference: docs/redis-keys.md.
 *
 * Key layout (prefix `tg:` by default):
 *
 *   <prefix>s:<sessionId>   STRING  the session: a MessagePack array (layout in scripts.ts)
 *                                   [userId, generation, refreshHash, [rotatedAt…], createdAt,
 *                                    lastUsedAt, expiresAt, absoluteExpiresAt, userAgent|false, ip|false]
 *                           TTL     PXAT min(expiresAt, absoluteExpiresAt), moved with expiresAt
 *                                   by every rotation and grace answer.
 *   <prefix>u:<userId>      ZSET    the user's session ids, scored by their absoluteExpiresAt.
 *                           TTL     PEXPIREAT the highest score; members past their score are
 *                                   dropped (ZREMRANGEBYSCORE) on every write of the index.
 *
 * Why this layout: rotateSession and getSession get only a session id, so the
 * session must be found from its id alone: its key carries no user. The user's index is a second
 * key in another slot, and no script touches both, so no hash tags are needed and every script
 * is single-key (valid on a Cluster, where a script may only touch keys of one slot).
 *
 * The index is scored by the absolute expiry, which never changes, instead of the idle expiry,
 * which every rotation moves: so the hot path (rotation, one script, one round trip) never has
 * to update a key in another slot, and there is no window, crash or partial failure in which a
 * live session is missing from its user's index (which would let it survive "log out
 * everywhere" or a password change). The price: an index entry whose session died idle lingers
 * (about 35 bytes) until that session's absolute expiry; the index itself never outlives the
 * absolute expiry of its sessions, and is never gone while one of them lives.
 *
 * Cross-slot orderings, chosen so a failure between the two steps is harmless:
 * - create: index entry first, then the session (a dangling entry is ignored by reads);
 * - delete (one, all, reuse): session first, then its index entry (best effort).
 * An index entry is removed only when its session was deleted here or its absolute expiry has
 * passed, never because its session is missing: that session may be being created right now.
 */
import type { Cluster, Redis } from 'ioredis';
import type { RotateOutcome, RotateRequest, SessionRecord, SessionStore } from '../types.js';
import {
  CREATE_SESSION, DELETE_OWNED_SESSION, GET_SESSION, INDEX_ADD, INDEX_REMOVE, ROTATE_SESSION, runScript,
} from './scripts.js';

export const DEFAULT_PREFIX = 'tg:';

/** Key of a session. */
export function sessionKey(prefix: string, id: string): string {
  return `${prefix}s:${id}`;
}

/** Key of a user's session index. */
export function userKey(prefix: string, userId: string): string {
  return `${prefix}u:${userId}`;
}

export interface RedisSessionStoreOptions {
  /** Prepended to every key; default `tg:`. */
  readonly prefix?: string;
}

export class RedisSessionStore implements SessionStore {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;

  constructor(client: Redis | Cluster, options?: RedisSessionStoreOptions) {
    this.#redis = client;
    this.#prefix = options?.prefix ?? DEFAULT_PREFIX;
  }

  #sessionKey(id: string): string {
    return sessionKey(this.#prefix, id);
  }

  #userKey(userId: string): string {
    return userKey(this.#prefix, userId);
  }

  async createSession(s: SessionRecord): Promise<void> {
    await runScript(this.#redis, INDEX_ADD, [this.#userKey(s.userId)], [s.absoluteExpiresAt, s.id]);
    const expireAt = Math.min(s.expiresAt, s.absoluteExpiresAt);
    await runScript(this.#redis, CREATE_SESSION, [this.#sessionKey(s.id)], [expireAt, ...encode(s)]);
  }

  async getSession(id: string, now: number): Promise<SessionRecord | null> {
    const session = decode(id, await runScript(this.#redis, GET_SESSION, [this.#sessionKey(id)], []));
    return session && isLive(session, now) ? session : null;
  }

  async rotateSession(req: RotateRequest): Promise<RotateOutcome> {
    const reply = (await runScript(this.#redis, ROTATE_SESSION, [this.#sessionKey(req.sessionId)], [
      req.now,
      req.generation,
      req.graceMs,
      req.idleTtlMs,
      ...req.hashes,
    ])) as [string, unknown?];
    const [outcome, value] = reply;
    switch (outcome) {
      case 'rotated':
      case 'grace': {
        const session = decode(req.sessionId, value);
        if (!session) throw new Error(`rotate_session returned no session for ${outcome}`);
        return { outcome, session };
      }
      case 'reused':
        await this.#unindex(String(value), [req.sessionId]);
        return { outcome: 'reused' };
      case 'deeper':
        return { outcome: 'deeper', depth: Number(value) };
      case 'invalid':
        return { outcome: 'invalid' };
      default:
        throw new Error(`rotate_session returned ${String(outcome)}`);
    }
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    const ids = await this.#redis.zrange(this.#userKey(userId), '0', '-1');
    // One command per session: on a Cluster they live in different slots (sent concurrently).
    const rows = await Promise.all(ids.map((id) => runScript(this.#redis, GET_SESSION, [this.#sessionKey(id)], [])));
    const sessions: SessionRecord[] = [];
    rows.forEach((fields, i) => {
      const session = decode(ids[i]!, fields);
      if (session && session.userId === userId && isLive(session, now)) sessions.push(session);
    });
    return sessions.sort((x, y) => y.createdAt - x.createdAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  }

  async deleteSession(userId: string, id: string): Promise<boolean> {
    const deleted = await runScript(this.#redis, DELETE_OWNED_SESSION, [this.#sessionKey(id)], [userId]);
    if (Number(deleted) !== 1) return false;
    await this.#unindex(userId, [id]);
    return true;
  }

  async deleteUserSessions(userId: string, options?: { except?: string }): Promise<number> {
    const ids = (await this.#redis.zrange(this.#userKey(userId), '0', '-1')).filter((id) => id !== options?.except);
    const results = await Promise.all(
      ids.map((id) => runScript(this.#redis, DELETE_OWNED_SESSION, [this.#sessionKey(id)], [userId])),
    );
    const deleted = ids.filter((_, i) => Number(results[i]) === 1);
    await this.#unindex(userId, deleted);
    return deleted.length;
  }

  /**
   * Drops deleted sessions from their user's index. Best effort: the sessions are gone already,
   * and an entry left behind is ignored by reads and dropped at its absolute expiry.
   */
  async #unindex(userId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await runScript(this.#redis, INDEX_REMOVE, [this.#userKey(userId)], ids).catch(() => undefined);
  }
}

function isLive(s: SessionRecord, now: number): boolean {
  return now < s.expiresAt && now < s.absoluteExpiresAt;
}

/** ARGV of create_session after the expiry time (see scripts.ts). */
function encode(s: SessionRecord): (string | number)[] {
  return [
    s.userId, s.generation, s.refreshHash, s.createdAt, s.lastUsedAt, s.expiresAt, s.absoluteExpiresAt,
    s.userAgent === null ? 0 : 1, s.userAgent ?? '', s.ip === null ? 0 : 1, s.ip ?? '', ...s.rotatedAt,
  ];
}

/** A session from the fields array the scripts return; null for nil or anything malformed. */
function decode(id: string, reply: unknown): SessionRecord | null {
  if (!Array.isArray(reply) || reply.length < 8) return null;
  const [u, g, h, r, c, l, e, a, ua, ip] = reply as unknown[];
  if (typeof u !== 'string' || typeof h !== 'string' || !Array.isArray(r)) return null;
  return {
    id,
    userId: u,
    generation: Number(g),
    refreshHash: h,
    rotatedAt: r.map(Number),
    createdAt: Number(c),
    lastUsedAt: Number(l),
    expiresAt: Number(e),
    absoluteExpiresAt: Number(a),
    userAgent: typeof ua === 'string' ? ua : null,
    ip: typeof ip === 'string' ? ip : null,
  };
}
