/**
 * Group commit for one hot SQLite write (the refresh's rotation): the statements queued during
 * one turn of the event loop run together in one IMMEDIATE transaction when the turn ends
 * (setImmediate), and each caller gets the rows of its own statement.
 *
 * Why: in WAL mode every autocommit statement takes and drops the WAL's locks (six fcntl calls,
 * each a system call) and appends a 4 KiB frame for every page it changed, even when the commit
 * just before wrote the same page. Under load one turn reads dozens of requests, so one commit
 * carries them all (POST /auth/refresh on SQLite: docs/benchmarks.md).
 *
 * What stays the same for a caller:
 * - Each statement runs as if alone, in the order they were queued: a later one sees the earlier
 *   ones' changes (two refreshes of one token in one turn: the second finds it already rotated).
 * - A promise settles only after the commit, so no answer is sent for a change not yet durable.
 * - A statement that fails rolls back the whole group and every caller in it gets that error
 *   (answered 503). The rotation's update cannot fail on its own (it writes no unique or NOT NULL
 *   column from a value that could be missing); the errors left are the database's (busy, I/O),
 *   which would have failed each statement alone just the same.
 * Statements that run outside the group (reads, deletes) are not delayed: they see the queued
 * changes only once they are committed, as they would a concurrent request's.
 */
import type SQLite from 'better-sqlite3';

interface Queued {
  readonly statement: SQLite.Statement;
  readonly parameters: readonly unknown[];
  resolve(rows: unknown[]): void;
  reject(error: unknown): void;
}

export class SqliteGroupCommit {
  #queue: Queued[] = [];
  readonly #runAll: SQLite.Transaction<(queue: readonly Queued[]) => unknown[][]>;

  constructor(db: SQLite.Database) {
    this.#runAll = db.transaction((queue: readonly Queued[]) => queue.map((q) => q.statement.all(...q.parameters)));
  }

  /** The rows of `statement` (a write with RETURNING), once the group it joined is committed. */
  all(statement: SQLite.Statement, parameters: readonly unknown[]): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      if (this.#queue.push({ statement, parameters, resolve, reject }) === 1) setImmediate(() => this.#commit());
    });
  }

  #commit(): void {
    const queue = this.#queue;
    this.#queue = [];
    let rows: unknown[][];
    try {
      // IMMEDIATE: take the write lock at BEGIN (waiting up to busy_timeout for another process's
      // writer), rather than upgrade a read lock mid-transaction, which can fail at once with BUSY.
      rows = this.#runAll.immediate(queue);
    } catch (error) {
      for (const q of queue) q.reject(error);
      return;
    }
    queue.forEach((q, i) => q.resolve(rows[i]!));
  }
}
