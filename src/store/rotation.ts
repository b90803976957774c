/**
 * Refresh rotation with reuse detection, as one pure decision over a session's current state.
 * Engines that can run it inside a transaction (SQLite, PostgreSQL) call it directly; the Redis
 * engine runs the same rules in a Lua script (ROTATE_SESSION in src/store/redis/scripts.ts) and both pass the same
 * contract suite.
 *
 * Refresh secrets form a chain: each one is an HMAC of the previous under a server key (see
 * core/refresh-tokens.ts). So a token that was already rotated can be proven genuine by hashing
 * forward to the current one, and a racing client inside the grace window can be handed the
 * current token again instead of a new branch.
 */
import { equalSecrets } from '../core/constant-time.js';
import type { RotateRequest, SessionRecord } from './types.js';

/**
 * How many past rotation times a session keeps (for grace checks of older racing tokens). The SQL
 * engine has one column per entry (rotated_at_1…4): changing this needs a migration.
 */
export const ROTATION_HISTORY = 4;

export type RotationDecision =
  | { readonly outcome: 'rotated' | 'grace'; readonly session: SessionRecord }
  | { readonly outcome: 'reused' | 'invalid' }
  | { readonly outcome: 'deeper'; readonly depth: number };

export function decideRotation(session: SessionRecord | null, req: RotateRequest): RotationDecision {
  if (!session || req.now >= session.expiresAt || req.now >= session.absoluteExpiresAt) {
    return { outcome: 'invalid' };
  }
  const depth = session.generation - req.generation;
  if (depth < 0) return { outcome: 'invalid' };
  if (depth >= req.hashes.length) return { outcome: 'deeper', depth };
  // Hashes of 256-bit random secrets: comparing them leaks nothing useful (see "Comparing hashes"
  // in redis/scripts.ts, whose Lua uses plain equality), but in JavaScript constant time is free.
  if (!equalSecrets(req.hashes[depth]!, session.refreshHash)) return { outcome: 'invalid' };

  if (depth === 0) {
    const next = req.hashes[1];
    if (next === undefined) return { outcome: 'deeper', depth: 1 };
    const rotatedAt = [req.now, ...session.rotatedAt].slice(0, ROTATION_HISTORY);
    return { outcome: 'rotated', session: renewed(session, req, session.generation + 1, next, rotatedAt) };
  }
  // The presented token is genuine but was rotated `depth` generations ago. Its grace window runs
  // from its own first rotation and is never extended; if we no longer know when that was, it was
  // long enough ago that we treat it as reuse (fail closed).
  const firstRotatedAt = session.rotatedAt[depth - 1];
  if (firstRotatedAt !== undefined && req.now - firstRotatedAt <= req.graceMs) {
    return { outcome: 'grace', session: renewed(session, req, session.generation, session.refreshHash, session.rotatedAt) };
  }
  return { outcome: 'reused' };
}

/**
 * The session used now, with its idle expiry renewed. Built field by field rather than with
 * object spreads: every refresh runs this, and a spread's result had a different hidden class
 * each time, which sent V8 to its slow runtime path (perf: ~2 % of a refresh's event loop).
 */
function renewed(session: SessionRecord, req: RotateRequest, generation: number, refreshHash: string, rotatedAt: readonly number[]): SessionRecord {
  return {
    id: session.id,
    userId: session.userId,
    generation,
    refreshHash,
    rotatedAt,
    createdAt: session.createdAt,
    lastUsedAt: req.now,
    expiresAt: Math.min(req.now + req.idleTtlMs, session.absoluteExpiresAt),
    absoluteExpiresAt: session.absoluteExpiresAt,
    userAgent: session.userAgent,
    ip: session.ip,
  };
}
