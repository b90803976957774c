/**
 * Refresh tokens: `tgr.<session id>.<generation>.<secret>`, opaque to clients.
 *
 * - The secret is 256 random bits at login; each rotation's secret is HMAC-SHA256(server key,
 *   previous secret). Only a holder of the server key can compute a successor, and only the
 *   client holds a secret, so neither a thief of an old token nor a dump of the store can mint
 *   a current one.
 * - The store keeps only SHA-256 of the current secret. A dump of it cannot be replayed.
 * - The `tgr.` prefix and four parts mean a refresh token can never parse as a JWT and an access
 *   token can never parse as a refresh token.
 */
import { createHash, createHmac, randomBytes, type KeyObject } from 'node:crypto';

export interface RefreshTokenParts {
  readonly sessionId: string;
  readonly generation: number;
  readonly secret: Buffer;
}

const FORMAT = /^tgr\.([A-Za-z0-9_-]{22})\.(0|[1-9]\d{0,8})\.([A-Za-z0-9_-]{43})$/;

/** How far back a rotated token may be traced before we stop hashing (bounds work per request). */
export const MAX_CHAIN_DEPTH = 1000;

export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

export function newRefreshSecret(): Buffer {
  return randomBytes(32);
}

export function formatRefreshToken(parts: RefreshTokenParts): string {
  return `tgr.${parts.sessionId}.${parts.generation}.${parts.secret.toString('base64url')}`;
}

/** Undefined for anything not exactly in our format (including canonical-base64url violations). */
export function parseRefreshToken(token: string): RefreshTokenParts | undefined {
  const match = FORMAT.exec(token);
  if (!match) return undefined;
  const secret = Buffer.from(match[3]!, 'base64url');
  if (secret.toString('base64url') !== match[3]) return undefined;
  return { sessionId: match[1]!, generation: Number(match[2]), secret };
}

export class RefreshChain {
  readonly #key: KeyObject;

  constructor(key: KeyObject) {
    this.#key = key;
  }

  next(secret: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(secret).digest();
  }

  /** The secret and its next `depth` successors: [secret, next(secret), …]. */
  successors(secret: Buffer, depth: number): Buffer[] {
    const out = [secret];
    for (let i = 0; i < depth; i++) out.push(this.next(out[i]!));
    return out;
  }

  /** The secret `steps` rotations after `secret`. */
  advance(secret: Buffer, steps: number): Buffer {
    return this.successors(secret, steps)[steps]!;
  }

  /** Hashes of the secret and its next `depth` successors: what the store compares. */
  hashes(secret: Buffer, depth: number): string[] {
    return this.successors(secret, depth).map(hashSecret);
  }
}

export function hashSecret(secret: Buffer): string {
  return createHash('sha256').update(secret).digest('base64url');
}
