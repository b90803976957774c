// SqliteGroupCommit: the writes of one event-loop turn commit together, each caller gets its own
// rows, and a failure fails the whole group and changes nothing.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { SqliteGroupCommit } from '../../src/store/sql/sqlite-group-commit.js';

let dir: string;
let db: SQLite.Database;
let group: SqliteGroupCommit;
let bump: SQLite.Statement;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-group-commit-'));
  db = new SQLite(join(dir, 'db.sqlite'));
  db.pragma('journal_mode = WAL');
  db.exec("create table counters (id text primary key, n integer not null); insert into counters values ('a', 0), ('b', 0)");
  // Reports whether the statement ran inside an explicit transaction.
  db.function('in_transaction', () => (db.inTransaction ? 1 : 0));
  bump = db.prepare('update counters set n = n + 1 where id = ? returning n, in_transaction() as tx');
  group = new SqliteGroupCommit(db);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('writes queued in one turn run in one transaction, in order, each caller getting its own rows', async () => {
  const results = await Promise.all([group.all(bump, ['a']), group.all(bump, ['b']), group.all(bump, ['a']), group.all(bump, ['missing'])]);
  assert.deepEqual(results, [[{ n: 1, tx: 1 }], [{ n: 1, tx: 1 }], [{ n: 2, tx: 1 }], []]);
});

test('a caller hears back only after the commit: another connection already sees its write', async () => {
  const [row] = await group.all(bump, ['a']);
  const other = new SQLite(join(dir, 'db.sqlite'), { readonly: true });
  try {
    assert.deepEqual(row, { n: 1, tx: 1 });
    assert.equal(other.prepare("select n from counters where id = 'a'").pluck().get(), 1);
  } finally {
    other.close();
  }
});

test('a failing statement fails every caller of its group and commits none of it; the next turn is a new group', async () => {
  const duplicate = db.prepare("insert into counters values ('a', 9) returning n");
  const failed = await Promise.allSettled([group.all(bump, ['a']), group.all(duplicate, []), group.all(bump, ['b'])]);
  assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
  for (const r of failed) assert.match(String((r as PromiseRejectedResult).reason), /UNIQUE constraint failed/);
  assert.deepEqual(db.prepare('select id, n from counters order by id').all(), [{ id: 'a', n: 0 }, { id: 'b', n: 0 }]);

  assert.deepEqual(await group.all(bump, ['b']), [{ n: 1, tx: 1 }]);
});
