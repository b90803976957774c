import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { JwsAlg } from '../../core/jws.js';
import type { KeyStore, StoredKey } from '../types.js';

export class SqlKeyStore implements KeyStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async listKeys(): Promise<StoredKey[]> {
    const rows = await this.#db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
    return rows.map((r) => ({
      kid: r.kid,
      alg: r.alg as JwsAlg,
      privateJwk: JSON.parse(r.private_jwk),
      publicJwk: JSON.parse(r.public_jwk),
      createdAt: Number(r.created_at),
      activatesAt: Number(r.activates_at),
      retiresAt: r.retires_at === null ? null : Number(r.retires_at),
      expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    }));
  }

  async insertKey(key: StoredKey): Promise<void> {
    await this.#db.insertInto('signing_keys').values({
      kid: key.kid,
      alg: key.alg,
      private_jwk: JSON.stringify(key.privateJwk),
      public_jwk: JSON.stringify(key.publicJwk),
      created_at: key.createdAt,
      activates_at: key.activatesAt,
      retires_at: key.retiresAt,
      expires_at: key.expiresAt,
    }).execute();
  }

  async retireKey(kid: string, retiresAt: number, expiresAt: number): Promise<void> {
    await this.#db.updateTable('signing_keys').set({ retires_at: retiresAt, expires_at: expiresAt }).where('kid', '=', kid).execute();
  }

  async deleteKey(kid: string): Promise<void> {
    await this.#db.deleteFrom('signing_keys').where('kid', '=', kid).execute();
  }

  async getOrCreateSecret(name: string, candidate: string): Promise<string> {
    await this.#db.insertInto('server_secrets').values({ name, value: candidate }).onConflict((oc) => oc.column('name').doNothing()).execute();
    const row = await this.#db.selectFrom('server_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
    return row.value;
  }
}
