// Schema migrations that move data, on both SQL dialects: from the schema before a migration, with
// rows written the old way, to the latest, read back through the session store. PostgreSQL needs
// TEST_DATABASE_URL.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { newRefreshSecret, newSessionId, hashSecret } from '../../src/core/refresh-tokens.js';
import { openSqlDatabase } from '../../src/store/sql/database.js';
import { migrate } from '../../src/store/sql/migrations.js';
import { SqlSessionStore } from '../../src/store/sql/sessions.js';
import type { SessionRecord } from '../../src/store/types.js';
import { freshPostgresDatabase, type FreshDatabase } from '../support/spawn-server.js';

const adminUrl = process.env.TEST_DATABASE_URL;
const databases: FreshDatabase[] = [];
after(async () => {
  await Promise.allSettled(databases.map((d) => d.drop()));
});

const dialects: { name: string; open: () => Promise<string>; skip?: string }[] = [
  { name: 'SQLite', open: async () => 'sqlite::memory:' },
  {
    name: 'PostgreSQL',
    open: async () => {
      const fresh = await freshPostgresDatabase(adminUrl!);
      databases.push(fresh);
      return fresh.url;
    },
    ...(adminUrl ? {} : { skip: 'TEST_DATABASE_URL is not set' }),
  },
];

for (const dialect of dialects) {
  describe(`0003_rotation_history_columns (${dialect.name})`, { skip: dialect.skip }, () => {
    test('each session keeps its rotation history, newest first, and rotates from it', async () => {
      const { db, sqlite } = openSqlDatabase(await dialect.open());
      try {
        await migrate(db, { to: '0002_drop_session_expiry_index' });
        const t0 = Date.now();
        const histories = [[], [t0 - 1000], [t0 - 1000, t0 - 2000], [t0 - 1000, t0 - 2000, t0 - 3000, t0 - 4000]];
        const secret = newRefreshSecret();
        const ids = [];
        for (const [generation, history] of histories.entries()) ids.push(await insertOldSession(db, { generation, rotatedAt: JSON.stringify(history), refreshHash: hashSecret(secret), now: t0 }));

        assert.deepEqual(await migrate(db), ['0003_rotation_history_columns']);
        const store = new SqlSessionStore(db, sqlite);
        for (const [i, history] of histories.entries()) {
          assert.deepEqual((await store.getSession(ids[i]!, t0))?.rotatedAt, history, `session with ${history.length} rotation times`);
        }
        const rotated = await store.rotateSession({
          sessionId: ids[3]!, generation: 3, hashes: [hashSecret(secret), hashSecret(newRefreshSecret())], now: t0 + 1, graceMs: 10_000, idleTtlMs: 60_000,
        });
        assert.equal(rotated.outcome, 'rotated');
        assert.deepEqual((rotated as { session: SessionRecord }).session.rotatedAt, [t0 + 1, t0 - 1000, t0 - 2000, t0 - 3000]);
      } finally {
        await db.destroy();
      }
    });
  });
}

/** A session row as the schema before 0003 held it (rotation history as JSON text). */
async function insertOldSession(db: Kysely<any>, s: { generation: number; rotatedAt: string; refreshHash: string; now: number }): Promise<string> {
  const id = newSessionId();
  await db.insertInto('sessions').values({
    id, user_id: 'user-1', generation: s.generation, refresh_hash: s.refreshHash, rotated_at: s.rotatedAt,
    created_at: s.now, last_used_at: s.now, expires_at: s.now + 60_000, absolute_expires_at: s.now + 120_000, user_agent: null, ip: null,
  }).execute();
  return id;
}
