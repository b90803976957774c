// The session-store contract on the SQL engine over in-memory SQLite: through Kysely's driver, and
// as prepared statements on the raw handle (what the server runs).
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
