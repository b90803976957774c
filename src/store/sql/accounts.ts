import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { AccountStore, UserRecord } from '../types.js';

export class SqlAccountStore implements AccountStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async createUser(user: UserRecord): Promise<boolean> {
    const result = await this.#db.insertInto('users')
      .values({ id: user.id, username: user.username, username_key: user.usernameKey, password_hash: user.passwordHash, created_at: user.createdAt })
      .onConflict((oc) => oc.column('username_key').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async findUserByName(usernameKey: string): Promise<UserRecord | null> {
    const row = await this.#db.selectFrom('users').selectAll().where('username_key', '=', usernameKey).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async findUserById(id: string): Promise<UserRecord | null> {
    const row = await this.#db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.#db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
  }

  async deleteUser(userId: string): Promise<boolean> {
    const result = await this.#db.transaction().execute(async (trx) => {
      // Explicit rather than relying on ON DELETE CASCADE, which SQLite only honours per connection pragma.
      await trx.deleteFrom('todos').where('user_id', '=', userId).execute();
      return trx.deleteFrom('users').where('id', '=', userId).executeTakeFirst();
    });
    return Number(result.numDeletedRows) === 1;
  }
}

function toUser(row: Database['users']): UserRecord {
  return { id: row.id, username: row.username, usernameKey: row.username_key, passwordHash: row.password_hash, createdAt: Number(row.created_at) };
}
