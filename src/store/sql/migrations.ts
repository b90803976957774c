/**
 * Schema migrations, one list for both dialects. Kysely's Migrator records what ran and takes a
 * lock (an advisory lock on PostgreSQL), so several instances starting at once migrate safely.
 * Never edit a migration that has shipped; add the next one.
 */
import { Migrator, PostgresAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.createTable('users')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('username', 'varchar(256)', (c) => c.notNull())
        .addColumn('username_key', 'varchar(256)', (c) => c.notNull().unique())
        .addColumn('password_hash', 'varchar(512)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createTable('todos')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('title', 'varchar(2048)', (c) => c.notNull())
        .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('todos_by_user').on('todos').columns(['user_id', 'created_at']).execute();
      await db.schema.createTable('signing_keys')
        .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('alg', 'varchar(16)', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('activates_at', 'bigint', (c) => c.notNull())
        .addColumn('retires_at', 'bigint')
        .addColumn('expires_at', 'bigint')
        .execute();
      await db.schema.createTable('server_secrets')
        .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('sessions')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('refresh_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('rotated_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('absolute_expires_at', 'bigint', (c) => c.notNull())
        .addColumn('user_agent', 'varchar(512)')
        .addColumn('ip', 'varchar(64)')
        .execute();
      await db.schema.createIndex('sessions_by_user').on('sessions').column('user_id').execute();
      await db.schema.createIndex('sessions_by_expiry').on('sessions').column('expires_at').execute();
    },
  },
  /**
   * No query uses this index: the sweep's `expires_at <= now OR absolute_expires_at <= now` scans
   * the table on both dialects (EXPLAIN), and every other session query goes by id or user. Yet
   * every refresh moves the session's entry in it, since rotation changes `expires_at`; without
   * it a rotation writes one page instead of two or three (SQLite update of a session row: ~45 µs
   * -> ~27 µs on a 2-core VM, docs/benchmarks.md).
   */
  '0002_drop_session_expiry_index': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('sessions_by_expiry').ifExists().execute();
    },
  },
  /**
   * The rotation history moves from one JSON text column to four number columns, newest first,
   * so a rotation can shift it in plain SQL (`rotated_at_2 = rotated_at_1`, …): the usual refresh
   * is then one `UPDATE … RETURNING` instead of a read and a compare-and-set write (sql/sessions.ts).
   * Instances still on the JSON column cannot read sessions once it is dropped: stop them before
   * starting this version.
   */
  '0003_rotation_history_columns': {
    async up(db: Kysely<any>): Promise<void> {
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
      const columns = ['rotated_at_1', 'rotated_at_2', 'rotated_at_3', 'rotated_at_4'];
      // The JSON holds at most four numbers; a missing element reads as NULL in both dialects.
      const element = postgres
        ? (i: number) => sql`(rotated_at::json->>${sql.lit(i)})::bigint`
        : (i: number) => sql`json_extract(rotated_at, ${sql.lit(`$[${i}]`)})`;
      const steps = async (trx: Kysely<any>): Promise<void> => {
        for (const column of columns) await trx.schema.alterTable('sessions').addColumn(column, 'bigint').execute();
        await trx.updateTable('sessions').set(Object.fromEntries(columns.map((column, i) => [column, element(i)]))).execute();
        await trx.schema.alterTable('sessions').dropColumn('rotated_at').execute();
      };
      // All or nothing, so a crash halfway cannot leave a schema this migration would then fail on.
      // Kysely runs PostgreSQL migrations in a transaction already, but not SQLite ones.
      if (postgres) await steps(db);
      else await db.transaction().execute(steps);
    },
  },
};

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/**
 * Brings the schema up to date, or up to the migration named `to` (tests of a migration start
 * from the schema before it); returns the names of the migrations that ran now.
 */
export async function migrate(db: Kysely<any>, options?: { to?: string }): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticProvider() });
  const { error, results } = await (options?.to === undefined ? migrator.migrateToLatest() : migrator.migrateTo(options.to));
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
