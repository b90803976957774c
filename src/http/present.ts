/** Core records → response bodies (snake_case, ISO 8601 times). */
import type { TokenPair } from '../core/sessions.js';
import type { SessionRecord, TodoRecord, UserRecord } from '../store/types.js';

const isoCache = new Map<number, string>();

/**
 * ISO 8601 in UTC. Memoised: the same few timestamps (a session's creation and expiry, a user's
 * creation) are formatted on every /auth/me, and Date#toISOString showed up in its profile.
 */
export function iso(ms: number): string {
  let text = isoCache.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (isoCache.size >= 10_000) isoCache.clear();
    isoCache.set(ms, text);
  }
  return text;
}

export function userBody(user: Pick<UserRecord, 'id' | 'username' | 'createdAt'>): { id: string; username: string; created_at: string } {
  return { id: user.id, username: user.username, created_at: iso(user.createdAt) };
}

/**
 * A token pair as the JSON text of the TokenPair schema, written out instead of going through the
 * route's serializer. Every value is an integer or a string made only of base64url characters,
 * dots and digits (a compact JWS, `tgr.<session id>.<generation>.<secret>`, a base64url session
 * id), none of which JSON escapes, so this is exactly JSON.stringify's text (test/http/present.test.ts).
 * The serializer checked each of the ~470 characters of the access token for escapes: 10k
 * instructions of the ~308k a refresh costs the event loop (callgrind).
 */
export function tokenPairJson(pair: TokenPair): string {
  return `{"access_token":"${pair.accessToken}","token_type":"${pair.tokenType}","expires_in":${pair.expiresIn},`
    + `"refresh_token":"${pair.refreshToken}","refresh_expires_in":${pair.refreshExpiresIn},"session_id":"${pair.sessionId}"}`;
}

/**
 * What Fastify sends a serialized body as; a string with this type goes out as it is. The routes
 * that send such text pass it `as never`: their reply type names the schema's object, not its text.
 */
export const JSON_TYPE = 'application/json; charset=utf-8';

export function sessionBody(session: SessionRecord, currentId: string) {
  return {
    id: session.id,
    created_at: iso(session.createdAt),
    last_used_at: iso(session.lastUsedAt),
    expires_at: iso(Math.min(session.expiresAt, session.absoluteExpiresAt)),
    user_agent: session.userAgent,
    ip: session.ip,
    current: session.id === currentId,
  };
}

export function todoBody(todo: TodoRecord) {
  return { id: todo.id, title: todo.title, done: todo.done, created_at: iso(todo.createdAt), updated_at: iso(todo.updatedAt) };
}
