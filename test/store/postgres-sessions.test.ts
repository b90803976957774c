// The session-store contract on PostgreSQL (sessions in the database when REDIS_URL is unset).
// One fresh database per run, dropped afterwards. Needs TEST_DATABASE_URL.
import { after } from 'node:test';
import { openSqlDatabase } from '../../src/store/sql/database.js';
import { migrate } from '../../src/store/sql/migrations.js';
import { SqlSessionStore } from '../../src/store/sql/sessions.js';
import { freshPostgresDatabase, type FreshDatabase } from '../support/spawn-server.js';
import { sessionStoreContract } from './session-contract.js';

const adminUrl = process.env.TEST_DATABASE_URL;
const databases: FreshDatabase[] = [];
after(async () => {
  await Promise.allSettled(databases.map((d) => d.drop()));
});

sessionStoreContract('PostgreSQL', async () => {
  const fresh = await freshPostgresDatabase(adminUrl!);
  databases.push(fresh);
  const { db } = openSqlDatabase(fresh.url);
  await migrate(db);
  return { store: new SqlSessionStore(db), close: () => db.destroy() };
}, { skip: adminUrl ? undefined : 'TEST_DATABASE_URL is not set' });
