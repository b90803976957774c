/**
 * The storage contract. Every engine implements these small interfaces and runs the shared
 * contract suites in test/store/. Conventions: an expected "not there" returns null or false;
 * an unreachable engine throws StoreUnavailableError (the HTTP layer answers 503); times are
 * milliseconds since the epoch.
 */
import type { JsonWebKey } from 'node:crypto';
import type { JwsAlg } from '../core/jws.js';
import type { MaybePromise } from '../core/maybe-promise.js';

export interface UserRecord {
  readonly id: string;
  readonly username: string;
  /** Case-folded username; unique. */
  readonly usernameKey: string;
  readonly passwordHash: string;
  readonly createdAt: number;
}

export interface AccountStore {
  /** False when the username key is already taken. */
  createUser(user: UserRecord): Promise<boolean>;
  findUserByName(usernameKey: string): Promise<UserRecord | null>;
  findUserById(id: string): Promise<UserRecord | null>;
  setPasswordHash(userId: string, passwordHash: string): Promise<void>;
  /** Deletes the user and everything they own in this store (todos). */
  deleteUser(userId: string): Promise<boolean>;
}

export interface TodoRecord {
  readonly id: string;
  readonly userId: string;
  readonly title: string;
  readonly done: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface TodoStore {
  /** The user's todos, newest first. */
  listTodos(userId: string): Promise<TodoRecord[]>;
  createTodo(todo: TodoRecord): Promise<void>;
  /** Null when it does not exist or belongs to someone else: the two are indistinguishable. */
  getTodo(userId: string, id: string): Promise<TodoRecord | null>;
  updateTodo(userId: string, id: string, patch: { title?: string; done?: boolean; updatedAt: number }): Promise<TodoRecord | null>;
  deleteTodo(userId: string, id: string): Promise<boolean>;
}

export interface StoredKey {
  readonly kid: string;
  readonly alg: JwsAlg;
  readonly privateJwk: JsonWebKey;
  readonly publicJwk: JsonWebKey;
  readonly createdAt: number;
  /** Signing starts here; the key is in the JWKS from createdAt, so verifiers learn it first. */
  readonly activatesAt: number;
  /** Signing stops here (a newer key took over); null while current. */
  readonly retiresAt: number | null;
  /** Dropped from verification and the JWKS here: every token it signed has expired. */
  readonly expiresAt: number | null;
}

export interface KeyStore {
  listKeys(): Promise<StoredKey[]>;
  insertKey(key: StoredKey): Promise<void>;
  retireKey(kid: string, retiresAt: number, expiresAt: number): Promise<void>;
  deleteKey(kid: string): Promise<void>;
  /**
   * Returns the server secret named `name`, storing `candidate` first if there is none. Several
   * instances starting at once all get the same value back.
   */
  getOrCreateSecret(name: string, candidate: string): Promise<string>;
}

export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  /** How many times the refresh token was rotated; part of the refresh token. */
  readonly generation: number;
  /** SHA-256 of the current refresh secret (base64url); the secret itself is never stored. */
  readonly refreshHash: string;
  /** When earlier generations were first rotated, newest first (generation-1, generation-2, …), at most ROTATION_HISTORY. */
  readonly rotatedAt: readonly number[];
  readonly createdAt: number;
  readonly lastUsedAt: number;
  /** Idle expiry: last refresh + refresh lifetime, never past absoluteExpiresAt. */
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly userAgent: string | null;
  readonly ip: string | null;
}

export interface RotateRequest {
  readonly sessionId: string;
  /** Generation written in the presented refresh token. */
  readonly generation: number;
  /** hashes[k] is the hash of the k-th successor of the presented secret (hashes[0]: the secret itself). */
  readonly hashes: readonly string[];
  readonly now: number;
  readonly graceMs: number;
  readonly idleTtlMs: number;
}

export type RotateOutcome =
  /** The presented token was current: the session moved to the next generation. */
  | { readonly outcome: 'rotated'; readonly session: SessionRecord }
  /** A recently rotated token within its grace window: same session, nothing rotated. */
  | { readonly outcome: 'grace'; readonly session: SessionRecord }
  /** A rotated token outside its grace window: the session was deleted. */
  | { readonly outcome: 'reused' }
  /** The token is older than `hashes` reaches; call again with hashes up to index `depth`. */
  | { readonly outcome: 'deeper'; readonly depth: number }
  /** Unknown, expired or forged: nothing changed. */
  | { readonly outcome: 'invalid' };

export interface SessionStore {
  createSession(session: SessionRecord): Promise<void>;
  /**
   * Null when absent or expired. The hot-path check behind every authenticated request: a store
   * that holds the session in process memory may answer synchronously (see core/maybe-promise.ts),
   * with a copy whose rotation fields (generation, refresh hash, rotation times) and idle expiry
   * may lag another process's rotation by a moment (store/session-cache.ts). `fresh` asks for the
   * store's own current record; the engines always answer with it.
   */
  getSession(id: string, now: number, options?: { fresh?: boolean }): MaybePromise<SessionRecord | null>;
  /** Atomic refresh rotation with reuse detection; see RotateOutcome. */
  rotateSession(request: RotateRequest): Promise<RotateOutcome>;
  /** The user's live sessions, newest first. */
  listSessions(userId: string, now: number): Promise<SessionRecord[]>;
  /** Deletes one session of this user; false when it is not theirs or not there. */
  deleteSession(userId: string, id: string): Promise<boolean>;
  /** Deletes all of the user's sessions except `options.except`; returns how many. */
  deleteUserSessions(userId: string, options?: { except?: string }): Promise<number>;
}

/** Fixed-window counters for rate limits. */
export interface CounterStore {
  /** Adds one to `key`, starting a window of `windowMs` if none is open; returns the new count. */
  increment(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }>;
  /** The open window's count, or null when none is open. */
  peek(key: string, now: number): Promise<{ count: number; resetAt: number } | null>;
}

/** Something with a connection to check and close. */
export interface StoreHealth {
  readonly name: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface Stores {
  readonly accounts: AccountStore;
  readonly todos: TodoStore;
  readonly keys: KeyStore;
  readonly sessions: SessionStore;
  readonly counters: CounterStore;
  /** One entry per distinct backend (e.g. "sqlite", or "postgres" and "redis"). */
  readonly health: readonly StoreHealth[];
}
