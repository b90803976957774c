// The account, todo and key store contract on the SQL engine over an in-memory SQLite database.
import { openSqlDatabase } from '../../src/store/sql/database.js';
import { migrate } from '../../src/store/sql/migrations.js';
import { SqlAccountStore } from '../../src/store/sql/accounts.js';
import { SqlKeyStore } from '../../src/store/sql/keys.js';
import { SqlTodoStore } from '../../src/store/sql/todos.js';
import { accountStoreContract } from './account-contract.js';

accountStoreContract('SQLite (in memory)', async () => {
  const { db } = openSqlDatabase('sqlite::memory:');
  await migrate(db);
  return {
    stores: { accounts: new SqlAccountStore(db), todos: new SqlTodoStore(db), keys: new SqlKeyStore(db) },
    close: () => db.destroy(),
  };
});
