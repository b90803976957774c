// The account, todo and key store contract on PostgreSQL, and concurrent migrations. Every database
// here is created for this file and dropped after it. Needs TEST_DATABASE_URL.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { openSqlDatabase } from '../../src/store/sql/database.js';
import { migrate } from '../../src/store/sql/migrations.js';
import type { Database } from '../../src/store/sql/schema.js';
import { SqlAccountStore } from '../../src/store/sql/accounts.js';
import { SqlKeyStore } from '../../src/store/sql/keys.js';
import { SqlTodoStore } from '../../src/store/sql/todos.js';
import { freshPostgresDatabase, type FreshDatabase } from '../support/spawn-server.js';
import { accountStoreContract } from './account-contract.js';

const adminUrl = process.env.TEST_DATABASE_URL;
const skip = adminUrl ? undefined : 'TEST_DATABASE_URL is not set';
const databases: FreshDatabase[] = [];
const pools: Kysely<Database>[] = [];

after(async () => {
  await Promise.allSettled(pools.map((db) => db.destroy()));
  await Promise.allSettled(databases.map((d) => d.drop()));
});

async function freshDatabase(): Promise<FreshDatabase> {
  const fresh = await freshPostgresDatabase(adminUrl!);
  databases.push(fresh);
  return fresh;
}

function connect(url: string): Kysely<Database> {
  const { db } = openSqlDatabase(url);
  pools.push(db);
  return db;
}

// One database for the contract, migrated once and emptied before each test.
let shared: Kysely<Database> | undefined;
accountStoreContract('PostgreSQL', async () => {
  if (!shared) {
    shared = connect((await freshDatabase()).url);
    await migrate(shared);
  }
  const db = shared;
  await sql`TRUNCATE todos, users, signing_keys, server_secrets`.execute(db);
  return {
    stores: { accounts: new SqlAccountStore(db), todos: new SqlTodoStore(db), keys: new SqlKeyStore(db) },
    close: async () => undefined,
  };
}, skip ? { skip } : undefined);

const MIGRATIONS = ['0001_initial', '0002_drop_session_expiry_index', '0003_rotation_history_columns'];

describe('PostgreSQL migrations', { skip: skip ?? false }, () => {
  test('four instances migrating one fresh database at once all succeed and leave one schema', async () => {
    const { url } = await freshDatabase();
    const instances = Array.from({ length: 4 }, () => connect(url));
    const ran = await Promise.all(instances.map((db) => migrate(db)));
    assert.deepEqual(ran.flat().sort(), MIGRATIONS, 'exactly one instance applied each migration');

    const check = instances[0]!;
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(check);
    assert.deepEqual(tables.rows.map((r) => r.table_name), [
      'kysely_migration', 'kysely_migration_lock', 'server_secrets', 'sessions', 'signing_keys', 'todos', 'users',
    ]);
    const indexes = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'sessions' order by indexname`.execute(check);
    assert.deepEqual(indexes.rows.map((r) => r.indexname), ['sessions_by_user', 'sessions_pkey']);
    const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(check);
    assert.deepEqual(applied.rows.map((r) => r.name).sort(), MIGRATIONS);
    assert.deepEqual(await Promise.all(instances.map((db) => migrate(db))), [[], [], [], []], 'a second run is a no-op');
  });
});
