// The session-store contract on the SQL engine over in-memory SQLite: through Kysely's driver, and
// as prepared statements on the raw handle (what the server runs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqlDatabase } from '../../src/store/sql/database.js';
import { migrate } from '../../src/store/sql/migrations.js';
import { SqlSessionStore } from '../../src/store/sql/sessions.js';
import { sessionStoreContract } from './session-contract.js';

sessionStoreContract('SQLite (in memory, through Kysely)', async () => {
  const { db } = openSqlDatabase('sqlite::memory:');
  await migrate(db);
  return { store: new SqlSessionStore(db), close: () => db.destroy() };
});

sessionStoreContract('SQLite (in memory, prepared statements)', async () => {
  const { db, sqlite } = openSqlDatabase('sqlite::memory:');
  await migrate(db);
  return { store: new SqlSessionStore(db, sqlite), close: () => db.destroy() };
});

test('sessions are indexed by id and by user only, so a rotation moves no index entry', async () => {
  const { db, sqlite } = openSqlDatabase('sqlite::memory:');
  await migrate(db);
  const indexes = sqlite!.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'sessions' and name not like 'sqlite_autoindex%'").pluck().all();
  assert.deepEqual(indexes, ['sessions_by_user']);
  await db.destroy();
});
