/**
 * Accounts: registration, credential checks, password change and account deletion. Session
 * consequences (ending other sessions, ending all of them) happen here so that no route can
 * forget them.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Clock } from './clock.js';
import type { MaybePromise } from './maybe-promise.js';
import { MAX_PASSWORD_BYTES, type PasswordHasher } from './passwords.js';
import { isCommonPassword } from './common-passwords.js';
import { parseUsername } from './usernames.js';
import type { AccountStore, SessionStore, UserRecord } from '../store/types.js';

const MIN_PASSWORD_CHARS = 8;

/**
 * Public profiles (id, username, created_at) never change once created, so /auth/me can serve them
 * from memory. A deleted user's sessions are ended before the user is, so a stale entry is never
 * reached through a live session. Bounded; oldest entries go first.
 */
const PROFILE_CACHE_SIZE = 20_000;

export type UserProfile = Pick<UserRecord, 'id' | 'username' | 'createdAt'>;

export class Accounts {
  readonly #store: AccountStore;
  readonly #sessions: SessionStore;
  readonly #hasher: PasswordHasher;
  readonly #clock: Clock;
  readonly #profiles = new Map<string, UserProfile>();

  constructor(deps: { store: AccountStore; sessions: SessionStore; hasher: PasswordHasher; clock: Clock }) {
    this.#store = deps.store;
    this.#sessions = deps.sessions;
    this.#hasher = deps.hasher;
    this.#clock = deps.clock;
  }

  /**
   * Throws `username_taken` (the one place that reveals a name exists) or `invalid_request`.
   * `signal` here and below: once it aborts, no password hash is started (see PasswordHasher).
   */
  async register(rawUsername: string, password: string, signal?: AbortSignal): Promise<UserRecord> {
    const username = parseUsername(rawUsername);
    checkNewPassword(password);
    // Refuse a taken name before spending a hash on it; createUser still decides under races.
    if (await this.#store.findUserByName(username.key)) throw new AppError('username_taken');
    const user: UserRecord = {
      id: randomUUID(),
      username: username.display,
      usernameKey: username.key,
      passwordHash: await this.#hasher.hash(password, signal),
      createdAt: this.#clock.now(),
    };
    if (!(await this.#store.createUser(user))) throw new AppError('username_taken');
    return user;
  }

  /**
   * Checks a username and password. Unknown user and wrong password give the same error after the
   * same work (one argon2 verification), so neither the body nor the timing tells them apart.
   */
  async authenticate(rawUsername: string, password: string, signal?: AbortSignal): Promise<UserRecord> {
    const key = usernameKeyOrNull(rawUsername);
    const user = key === null || Buffer.byteLength(password) > MAX_PASSWORD_BYTES ? null : await this.#store.findUserByName(key);
    if (!user) {
      await this.#hasher.verifyNobody(password.slice(0, MAX_PASSWORD_BYTES), signal);
      throw new AppError('invalid_credentials');
    }
    if (!(await this.#hasher.verify(user.passwordHash, password, signal))) throw new AppError('invalid_credentials');
    if (this.#hasher.needsRehash(user.passwordHash)) {
      // Parameters changed since this hash was made: upgrade it now that we know the password.
      await this.#store.setPasswordHash(user.id, await this.#hasher.hash(password, signal));
    }
    return user;
  }

  /** Synchronous when cached (the /auth/me hot path). */
  profile(userId: string): MaybePromise<UserProfile | null> {
    return this.#profiles.get(userId) ?? this.#loadProfile(userId);
  }

  async #loadProfile(userId: string): Promise<UserProfile | null> {
    const user = await this.#store.findUserById(userId);
    if (!user) return null;
    const profile = { id: user.id, username: user.username, createdAt: user.createdAt };
    if (this.#profiles.size >= PROFILE_CACHE_SIZE) this.#profiles.delete(this.#profiles.keys().next().value!);
    this.#profiles.set(userId, profile);
    return profile;
  }

  /** Changes the password and ends every other session of the user (a thief's included). */
  async changePassword(userId: string, currentSessionId: string, current: string, next: string, signal?: AbortSignal): Promise<void> {
    const user = await this.#verifyOwner(userId, current, signal);
    checkNewPassword(next);
    await this.#store.setPasswordHash(user.id, await this.#hasher.hash(next, signal));
    await this.#sessions.deleteUserSessions(user.id, { except: currentSessionId });
  }

  /** Deletes the account, its todos and all its sessions. Sessions go first: fail closed. */
  async deleteAccount(userId: string, password: string, signal?: AbortSignal): Promise<void> {
    const user = await this.#verifyOwner(userId, password, signal);
    await this.#sessions.deleteUserSessions(user.id);
    await this.#store.deleteUser(user.id);
    this.#profiles.delete(user.id);
  }

  async #verifyOwner(userId: string, password: string, signal: AbortSignal | undefined): Promise<UserRecord> {
    const user = await this.#store.findUserById(userId);
    // A deleted user's still-valid access token: same answer as any other ended session.
    if (!user) throw new AppError('token_revoked');
    if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES || !(await this.#hasher.verify(user.passwordHash, password, signal))) {
      throw new AppError('invalid_credentials');
    }
    return user;
  }
}

function usernameKeyOrNull(raw: string): string | null {
  try {
    return parseUsername(raw).key;
  } catch {
    return null;
  }
}

function checkNewPassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_CHARS) throw new AppError('invalid_request', `password must be at least ${MIN_PASSWORD_CHARS} characters`);
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw new AppError('invalid_request', `password must be at most ${MAX_PASSWORD_BYTES} bytes`);
  if (isCommonPassword(password)) throw new AppError('invalid_request', 'password is too common; choose another');
}
