/** Core records → response bodies (snake_case, ISO 8601 times). */
import type { TokenPair } from '../core/sessions.js';
import type { SessionRecord, TodoRecord, UserRecord } from '../store/types.js';

export const iso = (ms: number): string => new Date(ms).toISOString();

export function userBody(user: Pick<UserRecord, 'id' | 'username' | 'createdAt'>): { id: string; username: string; created_at: string } {
  return { id: user.id, username: user.username, created_at: iso(user.createdAt) };
}

export function tokenPairBody(pair: TokenPair) {
  return {
    access_token: pair.accessToken,
    token_type: pair.tokenType,
    expires_in: pair.expiresIn,
    refresh_token: pair.refreshToken,
    refresh_expires_in: pair.refreshExpiresIn,
    session_id: pair.sessionId,
  };
}

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
