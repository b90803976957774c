/**
 * Sessions in the SQL database (the embedded default when REDIS_URL is unset). Rotation is a
 * compare-and-set on (id, generation, refresh_hash), so concurrent refreshes, even from several
 * processes sharing the file or the PostgreSQL server, can never both rotate.
 */
import type SQLite from 'better-sqlite3';
import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';
import { decideRotation } from '../rotation.js';
import { SqliteGroupCommit } from './sqlite-group-commit.js';
import type { RotateOutcome, RotateRequest, SessionRecord, SessionStore } from '../types.js';

/** Expired rows are swept at most this often, piggybacking on logins (no timers to manage). */
const SWEEP_INTERVAL_MS = 10 * 60_000;
/** Each lost compare-and-set means another request rotated first; a few retries always settle. */
const MAX_CAS_ATTEMPTS = 5;

/** Stands in for a value while a hot query is built once (#bound); no real value starts with NUL. */
const MARKER = '\u0000tollgate:';

/**
 * The columns session reads select, in this order. On SQLite the rows come back as arrays of
 * these (better-sqlite3's raw mode): an object row costs a named-property store through V8's
 * runtime for each of the 11 columns, 27k of the ~36k instructions of reading one session
 * (callgrind, POST /auth/refresh).
 */
const SESSION_COLUMNS = [
  'id', 'user_id', 'generation', 'refresh_hash', 'rotated_at_1', 'rotated_at_2', 'rotated_at_3', 'rotated_at_4',
  'created_at', 'last_used_at', 'expires_at', 'absolute_expires_at', 'user_agent', 'ip',
] as const;

/** The values of `Columns`, in their order. */
type ValuesOf<Columns extends readonly (keyof Database['sessions'])[]> = { -readonly [I in keyof Columns]: Database['sessions'][Columns[I] & keyof Database['sessions']] };
type SessionValues = ValuesOf<typeof SESSION_COLUMNS>;

/** A query Kysely has built for one of the hot paths, with its values in the order the SQL binds them. */
interface Template {
  readonly compiled: CompiledQuery<unknown>;
  readonly keys: readonly string[];
}

export class SqlSessionStore implements SessionStore {
  readonly #db: Kysely<Database>;
  readonly #sqlite: SQLite.Database | undefined;
  readonly #statements = new Map<string, SQLite.Statement>();
  readonly #templates = new Map<string, Template>();
  /** On SQLite, rotations of one event-loop turn commit together (sqlite-group-commit.ts). */
  readonly #groupCommit: SqliteGroupCommit | undefined;
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
    this.#groupCommit = sqlite && new SqliteGroupCommit(sqlite);
  }

  /** Runs a select of SESSION_COLUMNS. */
  async #sessions(compiled: CompiledQuery<unknown>): Promise<SessionRecord[]> {
    if (!this.#sqlite) {
      const { rows } = await this.#db.executeQuery(compiled as CompiledQuery<Database['sessions']>);
      return rows.map((row) => toSession(SESSION_COLUMNS.map((column) => row[column]) as unknown as SessionValues));
    }
    return (this.#statement(compiled, true).all(...compiled.parameters) as SessionValues[]).map(toSession);
  }

  /** Runs an insert, update or delete; returns how many rows it changed. */
  async #change(compiled: CompiledQuery<unknown>): Promise<number> {
    if (!this.#sqlite) return Number((await this.#db.executeQuery(compiled)).numAffectedRows ?? 0);
    return this.#statement(compiled).run(...compiled.parameters).changes;
  }

  /** The cached prepared statement; `raw`: rows as arrays of values in column order. */
  #statement(compiled: CompiledQuery<unknown>, raw = false): SQLite.Statement {
    const key = raw ? `raw:${compiled.sql}` : compiled.sql;
    let statement = this.#statements.get(key);
    if (!statement) {
      statement = this.#sqlite!.prepare(compiled.sql);
      if (raw) statement.raw(true);
      this.#statements.set(key, statement);
    }
    return statement;
  }

  /**
   * The hot queries (read a session, rotate it) are built by Kysely once, with a marker in place
   * of each value; each call then binds its values where the markers landed. Building a query
   * cost more than running it on SQLite (a profile of POST /auth/refresh), and every refresh
   * runs two.
   */
  #bound<R>(name: string, build: (value: (key: string) => never) => { compile(): CompiledQuery<R> }, values: Record<string, unknown>): CompiledQuery<R> {
    let template = this.#templates.get(name);
    if (!template) {
      const marker = (key: string): never => `${MARKER}${key}` as never;
      const compiled = build(marker).compile();
      const keys = compiled.parameters.map((parameter) => {
        const key = typeof parameter === 'string' && parameter.startsWith(MARKER) ? parameter.slice(MARKER.length) : undefined;
        if (key === undefined) throw new Error(`${name}: every value must be a marker`);
        return key;
      });
      template = { compiled, keys };
      this.#templates.set(name, template);
    }
    const { query, queryId, sql } = template.compiled;
    // A literal, not a spread of the compiled query: the same hidden class on every call.
    return { query, queryId, sql, parameters: template.keys.map((key) => values[key]) } as CompiledQuery<R>;
  }

  async createSession(s: SessionRecord): Promise<void> {
    await this.#change(this.#db.insertInto('sessions').values({
      id: s.id,
      user_id: s.userId,
      generation: s.generation,
      refresh_hash: s.refreshHash,
      rotated_at_1: s.rotatedAt[0] ?? null,
      rotated_at_2: s.rotatedAt[1] ?? null,
      rotated_at_3: s.rotatedAt[2] ?? null,
      rotated_at_4: s.rotatedAt[3] ?? null,
      created_at: s.createdAt,
      last_used_at: s.lastUsedAt,
      expires_at: s.expiresAt,
      absolute_expires_at: s.absoluteExpiresAt,
      user_agent: s.userAgent,
      ip: s.ip,
    }).compile());
    if (s.createdAt - this.#lastSweep > SWEEP_INTERVAL_MS) {
      this.#lastSweep = s.createdAt;
      await this.#change(this.#db.deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', s.createdAt), eb('absolute_expires_at', '<=', s.createdAt)])).compile());
    }
  }

  async getSession(id: string, now: number): Promise<SessionRecord | null> {
    const [session] = await this.#sessions(this.#bound('getSession', (value) => this.#db.selectFrom('sessions').select(SESSION_COLUMNS)
      .where('id', '=', value('id')).where('expires_at', '>', value('now')).where('absolute_expires_at', '>', value('now')), { id, now }));
    return session ?? null;
  }

  /**
   * The usual refresh (the current token of a live session) is one statement: an update that
   * matches only that case and returns the rotated row, with every rule of decideRotation's
   * `rotated` branch in its SET and WHERE. Anything else (a rotated token within its grace, reuse,
   * a deeper chain, an unknown or expired session) matches no row and goes the general way: read
   * the row, decide in JavaScript, write with a compare-and-set. On SQLite the updates of one
   * event-loop turn also commit together (sqlite-group-commit.ts).
   */
  async rotateSession(req: RotateRequest): Promise<RotateOutcome> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      if (req.hashes.length > 1) {
        const [rotated] = await this.#rotateCurrent(req);
        if (rotated) return { outcome: 'rotated', session: rotated };
      }
      const [session] = await this.#sessions(this.#bound('rotate/read', (value) => this.#db.selectFrom('sessions').select(SESSION_COLUMNS)
        .where('id', '=', value('id')), { id: req.sessionId }));
      const decision = decideRotation(session ?? null, req);
      switch (decision.outcome) {
        case 'reused':
          await this.#change(this.#db.deleteFrom('sessions').where('id', '=', req.sessionId).compile());
          return decision;
        case 'grace':
          if (await this.#renew(decision.session)) return decision;
          break; // the session moved on since the read: decide again
        case 'rotated':
          // The update above matches exactly this case, so the row changed in between. Try again
          // rather than answer with a rotation that was never written.
          break;
        default:
          return decision;
      }
    }
    return { outcome: 'invalid' };
  }

  /**
   * Rotates the session if `req` presents its current token and it is live; returns the rotated
   * row, or none. Both dialects evaluate every SET expression against the row as it was, so the
   * history shifts by one with the new time in front.
   */
  async #rotateCurrent(req: RotateRequest): Promise<SessionRecord[]> {
    const compiled = this.#bound('rotate/current', (value) => this.#db.updateTable('sessions')
      .set((eb) => ({
        generation: value('nextGeneration'),
        refresh_hash: value('nextHash'),
        rotated_at_1: value('now'),
        rotated_at_2: eb.ref('rotated_at_1'),
        rotated_at_3: eb.ref('rotated_at_2'),
        rotated_at_4: eb.ref('rotated_at_3'),
        last_used_at: value('now'),
        // The renewed idle expiry, never past the absolute one.
        expires_at: eb.case().when('absolute_expires_at', '>', value('idleExpiresAt')).then(value('idleExpiresAt')).else(eb.ref('absolute_expires_at')).end(),
      }))
      .where('id', '=', value('id'))
      .where('generation', '=', value('generation'))
      .where('refresh_hash', '=', value('hash'))
      .where('expires_at', '>', value('now'))
      .where('absolute_expires_at', '>', value('now'))
      .returning(SESSION_COLUMNS), {
      nextGeneration: req.generation + 1,
      nextHash: req.hashes[1],
      now: req.now,
      idleExpiresAt: req.now + req.idleTtlMs,
      id: req.sessionId,
      generation: req.generation,
      hash: req.hashes[0],
    });
    if (!this.#groupCommit) return this.#sessions(compiled);
    return ((await this.#groupCommit.all(this.#statement(compiled, true), compiled.parameters)) as SessionValues[]).map(toSession);
  }

  /** A grace answer's write: the idle expiry renewed, if the session is still what was read. */
  async #renew(next: SessionRecord): Promise<boolean> {
    return (await this.#change(this.#bound('rotate/renew', (value) => this.#db.updateTable('sessions')
      .set({ last_used_at: value('lastUsedAt'), expires_at: value('expiresAt') })
      .where('id', '=', value('id'))
      .where('generation', '=', value('generation'))
      .where('refresh_hash', '=', value('hash')), {
      lastUsedAt: next.lastUsedAt,
      expiresAt: next.expiresAt,
      id: next.id,
      generation: next.generation,
      hash: next.refreshHash,
    }))) === 1;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return this.#sessions(this.#db.selectFrom('sessions').select(SESSION_COLUMNS)
      .where('user_id', '=', userId).where('expires_at', '>', now).where('absolute_expires_at', '>', now)
      .orderBy('created_at', 'desc').orderBy('id').compile());
  }

  async deleteSession(userId: string, id: string): Promise<boolean> {
    return (await this.#change(this.#db.deleteFrom('sessions').where('id', '=', id).where('user_id', '=', userId).compile())) === 1;
  }

  async deleteUserSessions(userId: string, options?: { except?: string }): Promise<number> {
    let query = this.#db.deleteFrom('sessions').where('user_id', '=', userId);
    if (options?.except !== undefined) query = query.where('id', '!=', options.except);
    return this.#change(query.compile());
  }
}

function toSession(values: SessionValues): SessionRecord {
  const [id, userId, generation, refreshHash, r1, r2, r3, r4, createdAt, lastUsedAt, expiresAt, absoluteExpiresAt, userAgent, ip] = values;
  const rotatedAt: number[] = [];
  for (const time of [r1, r2, r3, r4]) if (time !== null) rotatedAt.push(Number(time));
  return {
    id,
    userId,
    generation: Number(generation),
    refreshHash,
    rotatedAt,
    createdAt: Number(createdAt),
    lastUsedAt: Number(lastUsedAt),
    expiresAt: Number(expiresAt),
    absoluteExpiresAt: Number(absoluteExpiresAt),
    userAgent,
    ip,
  };
}
