// The session-store contract on the SQL engine over an in-memory SQLite database.
import { openSqlDatabase } from '../../src/store/sql/database.js';
import { migrate } from '../../src/store/sql/migrations.js';
import { SqlSessionStore } from '../../src/store/sql/sessions.js';
import { sessionStoreContract } from './session-contract.js';

sessionStoreContract('SQLite (in memory)', async () => {
  const { db } = openSqlDatabase('sqlite::memory:');
  await migrate(db);
  return { store: new SqlSessionStore(db), close: () => db.destroy() };
});
