/**
 * Opens the SQL database named by DATABASE_URL: SQLite (the embedded default, one file) or
 * PostgreSQL (pooled). Both go through Kysely so there is one set of queries and migrations.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { Database } from './schema.js';

export interface SqlDatabase {
  readonly db: Kysely<Database>;
  readonly dialect: 'sqlite' | 'postgres';
  /** The SQLite handle itself: session queries run on it as prepared statements (sql/sessions.ts). */
  readonly sqlite?: SQLite.Database;
}

/** Bounds on waiting for PostgreSQL, so a stuck database yields 503 quickly instead of hanging. */
const PG_CONNECT_TIMEOUT_MS = 3_000;
const PG_STATEMENT_TIMEOUT_MS = 5_000;

export function openSqlDatabase(url: string): SqlDatabase {
  if (url.startsWith('sqlite:')) {
    const sqlite = openSqlite(url.slice(7));
    return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }), dialect: 'sqlite', sqlite };
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    statement_timeout: PG_STATEMENT_TIMEOUT_MS,
    query_timeout: PG_STATEMENT_TIMEOUT_MS + 1_000,
    // bigint columns hold millisecond times, well inside Number's exact range.
    types: { getTypeParser: (oid: number, format?: string) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text')) },
  });
  // An idle client losing its connection emits here; without a listener that would crash the process.
  pool.on('error', () => undefined);
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres' };
}

function openSqlite(path: string): SQLite.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new SQLite(path);
  // WAL lets readers run beside the writer (several workers share the file); busy_timeout makes a
  // writer wait for the lock instead of failing at once; foreign keys make todo deletion cascade.
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  return db;
}

export async function pingSql(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
