/**
 * Sessions in the SQL database (the embedded default when REDIS_URL is unset). Rotation is a
 * compare-and-set on (id, generation, refresh_hash), so concurrent refreshes, even from several
 * processes sharing the file or the PostgreSQL server, can never both rotate.
 */
import type SQLite from 'better-sqlite3';
import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';
import { decideRotation } from '../rotation.js';
import type { RotateOutcome, RotateRequest, SessionRecord, SessionStore } from '../types.js';

/** Expired rows are swept at most this often, piggybacking on logins (no timers to manage). */
const SWEEP_INTERVAL_MS = 10 * 60_000;
/** Each lost compare-and-set means another request rotated first; a few retries always settle. */
const MAX_CAS_ATTEMPTS = 5;

/** A query Kysely has built, before it runs. */
interface Query<R> {
  compile(): CompiledQuery<R>;
  execute(): Promise<R[]>;
}

export class SqlSessionStore implements SessionStore {
  readonly #db: Kysely<Database>;
  readonly #sqlite: SQLite.Database | undefined;
  readonly #statements = new Map<string, SQLite.Statement>();
  #lastSweep = 0;

  /**
   * `sqlite`: the raw handle under `db`, when the dialect is SQLite. Queries are still built by
   * Kysely (one set for both dialects) but run as cached prepared statements: a Kysely round trip
   * costs ~100 µs against ~10 µs, and sessions are read on every authenticated request and written
   * on every refresh. Being synchronous, each statement also runs without interleaving.
   */
  constructor(db: Kysely<Database>, sqlite?: SQLite.Database) {
    this.#db = db;
    this.#sqlite = sqlite;
  }

  async #rows<R>(query: Query<R>): Promise<R[]> {
    if (!this.#sqlite) return query.execute();
    const compiled = query.compile();
    return this.#statement(compiled).all(...compiled.parameters) as R[];
  }

  /** Runs an insert, update or delete; returns how many rows it changed. */
  async #change(query: Query<unknown>): Promise<number> {
    if (!this.#sqlite) {
      const [result] = (await query.execute()) as Array<{ numInsertedOrUpdatedRows?: bigint; numUpdatedRows?: bigint; numDeletedRows?: bigint }>;
      return Number(result?.numUpdatedRows ?? result?.numDeletedRows ?? result?.numInsertedOrUpdatedRows ?? 0);
    }
    const compiled = query.compile();
    return this.#statement(compiled).run(...compiled.parameters).changes;
  }

  #statement(compiled: CompiledQuery<unknown>): SQLite.Statement {
    let statement = this.#statements.get(compiled.sql);
    if (!statement) {
      statement = this.#sqlite!.prepare(compiled.sql);
      this.#statements.set(compiled.sql, statement);
    }
    return statement;
  }

  async createSession(s: SessionRecord): Promise<void> {
    await this.#change(this.#db.insertInto('sessions').values({
      id: s.id,
      user_id: s.userId,
      generation: s.generation,
      refresh_hash: s.refreshHash,
      rotated_at: JSON.stringify(s.rotatedAt),
      created_at: s.createdAt,
      last_used_at: s.lastUsedAt,
      expires_at: s.expiresAt,
      absolute_expires_at: s.absoluteExpiresAt,
      user_agent: s.userAgent,
      ip: s.ip,
    }));
    if (s.createdAt - this.#lastSweep > SWEEP_INTERVAL_MS) {
      this.#lastSweep = s.createdAt;
      await this.#change(this.#db.deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', s.createdAt), eb('absolute_expires_at', '<=', s.createdAt)])));
    }
  }

  async getSession(id: string, now: number): Promise<SessionRecord | null> {
    const [row] = await this.#rows(this.#db.selectFrom('sessions').selectAll()
      .where('id', '=', id).where('expires_at', '>', now).where('absolute_expires_at', '>', now));
    return row ? toSession(row) : null;
  }

  async rotateSession(req: RotateRequest): Promise<RotateOutcome> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const [row] = await this.#rows(this.#db.selectFrom('sessions').selectAll().where('id', '=', req.sessionId));
      const current = row ? toSession(row) : null;
      const decision = decideRotation(current, req);
      if (decision.outcome === 'reused') {
        await this.#change(this.#db.deleteFrom('sessions').where('id', '=', req.sessionId));
        return decision;
      }
      if (decision.outcome !== 'rotated' && decision.outcome !== 'grace') return decision;
      const next = decision.session;
      const changed = await this.#change(this.#db.updateTable('sessions')
        .set({
          generation: next.generation,
          refresh_hash: next.refreshHash,
          rotated_at: JSON.stringify(next.rotatedAt),
          last_used_at: next.lastUsedAt,
          expires_at: next.expiresAt,
        })
        .where('id', '=', req.sessionId)
        .where('generation', '=', current!.generation)
        .where('refresh_hash', '=', current!.refreshHash));
      if (changed === 1) return decision;
    }
    return { outcome: 'invalid' };
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    const rows = await this.#rows(this.#db.selectFrom('sessions').selectAll()
      .where('user_id', '=', userId).where('expires_at', '>', now).where('absolute_expires_at', '>', now)
      .orderBy('created_at', 'desc').orderBy('id'));
    return rows.map(toSession);
  }

  async deleteSession(userId: string, id: string): Promise<boolean> {
    return (await this.#change(this.#db.deleteFrom('sessions').where('id', '=', id).where('user_id', '=', userId))) === 1;
  }

  async deleteUserSessions(userId: string, options?: { except?: string }): Promise<number> {
    let query = this.#db.deleteFrom('sessions').where('user_id', '=', userId);
    if (options?.except !== undefined) query = query.where('id', '!=', options.except);
    return this.#change(query);
  }
}

function toSession(row: Database['sessions']): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    generation: Number(row.generation),
    refreshHash: row.refresh_hash,
    rotatedAt: JSON.parse(row.rotated_at) as number[],
    createdAt: Number(row.created_at),
    lastUsedAt: Number(row.last_used_at),
    expiresAt: Number(row.expires_at),
    absoluteExpiresAt: Number(row.absolute_expires_at),
    userAgent: row.user_agent,
    ip: row.ip,
  };
}
