/**
 * The behaviour every SQL engine's AccountStore, TodoStore and KeyStore must have (SQLite,
 * PostgreSQL). Each test gets an empty store from `open`.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { uuidv7 } from '../../src/core/ids.js';
import type { StoredKey, Stores, TodoRecord, UserRecord } from '../../src/store/types.js';

export interface OpenedAccountStores {
  stores: Pick<Stores, 'accounts' | 'todos' | 'keys'>;
  close(): Promise<void>;
}

// Past 2^31 and 2^32 on purpose: bigint columns must come back as exact numbers.
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0, 123);

export function accountStoreContract(name: string, open: () => Promise<OpenedAccountStores>, options?: { skip?: string }): void {
  describe(`account store contract: ${name}`, { skip: options?.skip ?? false }, () => {
    let opened: OpenedAccountStores | undefined;
    let stores: OpenedAccountStores['stores'];

    beforeEach(async () => {
      opened = await open();
      stores = opened.stores;
    });
    afterEach(async () => {
      await opened?.close();
      opened = undefined;
    });

    function user(username: string, over: Partial<UserRecord> = {}): UserRecord {
      return { id: uuidv7(), username, usernameKey: username.toLowerCase(), passwordHash: `$argon2id$v=19$${randomBytes(8).toString('hex')}`, createdAt: T0, ...over };
    }

    async function created(username: string): Promise<UserRecord> {
      const u = user(username);
      assert.equal(await stores.accounts.createUser(u), true);
      return u;
    }

    async function todo(userId: string, title: string, createdAt = T0): Promise<TodoRecord> {
      const t: TodoRecord = { id: uuidv7(createdAt), userId, title, done: false, createdAt, updatedAt: createdAt };
      await stores.todos.createTodo(t);
      return t;
    }

    describe('accounts', () => {
      test('a created user is found by name key and by id with every field intact', async () => {
        const zoe = await created('Zoë');
        assert.deepEqual(await stores.accounts.findUserByName('zoë'), zoe);
        assert.deepEqual(await stores.accounts.findUserById(zoe.id), zoe);
      });

      test('unknown names and ids are null', async () => {
        await created('alice');
        assert.equal(await stores.accounts.findUserByName('bob'), null);
        assert.equal(await stores.accounts.findUserById(uuidv7()), null);
      });

      test('creating a user whose name key is taken returns false and keeps the first', async () => {
        const first = await created('alice');
        assert.equal(await stores.accounts.createUser(user('ALICE', { usernameKey: 'alice' })), false);
        assert.deepEqual(await stores.accounts.findUserByName('alice'), first);
      });

      test('of 20 concurrent creates of one name exactly one wins, and it is the one stored', async () => {
        const candidates = Array.from({ length: 20 }, () => user('carol'));
        const results = await Promise.all(candidates.map((c) => stores.accounts.createUser(c)));
        assert.equal(results.filter(Boolean).length, 1);
        const winner = candidates[results.indexOf(true)]!;
        assert.equal((await stores.accounts.findUserByName('carol'))?.id, winner.id);
      });

      test('setPasswordHash changes only that user\'s hash', async () => {
        const alice = await created('alice');
        const bob = await created('bob');
        await stores.accounts.setPasswordHash(alice.id, '$argon2id$new');
        assert.deepEqual(await stores.accounts.findUserById(alice.id), { ...alice, passwordHash: '$argon2id$new' });
        assert.deepEqual(await stores.accounts.findUserById(bob.id), bob);
      });

      test('deleting a user removes them and their todos, keeps others\', and is false the second time', async () => {
        const alice = await created('alice');
        const bob = await created('bob');
        const mine = await todo(alice.id, 'mine');
        const theirs = await todo(bob.id, 'theirs');
        assert.equal(await stores.accounts.deleteUser(alice.id), true);
        assert.equal(await stores.accounts.findUserById(alice.id), null);
        assert.equal(await stores.accounts.findUserByName('alice'), null);
        assert.equal(await stores.todos.getTodo(alice.id, mine.id), null);
        assert.deepEqual(await stores.todos.listTodos(alice.id), []);
        assert.deepEqual(await stores.todos.listTodos(bob.id), [theirs]);
        assert.equal(await stores.accounts.deleteUser(alice.id), false);
        assert.equal(await stores.accounts.createUser(user('alice')), true, 'the name is free again');
      });
    });

    describe('todos', () => {
      test('a user\'s todos list newest first, and only theirs', async () => {
        const alice = await created('alice');
        const bob = await created('bob');
        const made = [await todo(alice.id, 'one', T0), await todo(alice.id, 'two', T0 + 1), await todo(alice.id, 'three', T0 + 1)];
        // Same-millisecond ids still sort by creation (the UUIDv7 counter).
        made.push(await todo(alice.id, 'four', T0 + 1));
        await todo(bob.id, 'bob\'s');
        assert.deepEqual((await stores.todos.listTodos(alice.id)).map((t) => t.title), ['four', 'three', 'two', 'one']);
        assert.deepEqual(await stores.todos.listTodos(alice.id), [...made].reverse());
        assert.deepEqual(await stores.todos.listTodos(uuidv7()), []);
      });

      test('getTodo finds the owner\'s todo; another user\'s id is null', async () => {
        const alice = await created('alice');
        const bob = await created('bob');
        const t = await todo(alice.id, 'secret plans');
        assert.deepEqual(await stores.todos.getTodo(alice.id, t.id), t);
        assert.equal(await stores.todos.getTodo(bob.id, t.id), null);
        assert.equal(await stores.todos.getTodo(alice.id, uuidv7()), null);
      });

      test('updateTodo patches only the given fields and the update time', async () => {
        const alice = await created('alice');
        const t = await todo(alice.id, 'draft');
        const renamed = await stores.todos.updateTodo(alice.id, t.id, { title: 'final', updatedAt: T0 + 5 });
        assert.deepEqual(renamed, { ...t, title: 'final', updatedAt: T0 + 5 });
        const ticked = await stores.todos.updateTodo(alice.id, t.id, { done: true, updatedAt: T0 + 9 });
        assert.deepEqual(ticked, { ...t, title: 'final', done: true, updatedAt: T0 + 9 });
        const touched = await stores.todos.updateTodo(alice.id, t.id, { updatedAt: T0 + 10 });
        assert.deepEqual(touched, { ...t, title: 'final', done: true, updatedAt: T0 + 10 });
        assert.deepEqual(await stores.todos.getTodo(alice.id, t.id), touched);
        assert.equal(await stores.todos.updateTodo(alice.id, uuidv7(), { done: true, updatedAt: T0 }), null);
      });

      test('another user cannot update or delete a todo, and it stays untouched', async () => {
        const alice = await created('alice');
        const bob = await created('bob');
        const t = await todo(alice.id, 'keep out');
        assert.equal(await stores.todos.updateTodo(bob.id, t.id, { title: 'pwned', done: true, updatedAt: T0 + 1 }), null);
        assert.equal(await stores.todos.deleteTodo(bob.id, t.id), false);
        assert.deepEqual(await stores.todos.getTodo(alice.id, t.id), t);
      });

      test('deleteTodo is true once, then false', async () => {
        const alice = await created('alice');
        const t = await todo(alice.id, 'done with');
        const kept = await todo(alice.id, 'kept');
        assert.equal(await stores.todos.deleteTodo(alice.id, t.id), true);
        assert.equal(await stores.todos.deleteTodo(alice.id, t.id), false);
        assert.deepEqual(await stores.todos.listTodos(alice.id), [kept]);
      });
    });

    describe('keys', () => {
      function key(createdAt: number): StoredKey {
        const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const publicJwk = pair.publicKey.export({ format: 'jwk' });
        return {
          kid: `kid-${randomBytes(6).toString('hex')}`, alg: 'ES256', privateJwk: pair.privateKey.export({ format: 'jwk' }), publicJwk,
          createdAt, activatesAt: createdAt + 1_000, retiresAt: null, expiresAt: null,
        };
      }

      test('inserted keys list back intact, oldest first', async () => {
        assert.deepEqual(await stores.keys.listKeys(), []);
        const newer = key(T0 + 60_000);
        const older = key(T0);
        await stores.keys.insertKey(newer);
        await stores.keys.insertKey(older);
        assert.deepEqual(await stores.keys.listKeys(), [older, newer]);
      });

      test('retireKey sets retirement and expiry on that key only', async () => {
        const a = key(T0);
        const b = key(T0 + 1);
        await stores.keys.insertKey(a);
        await stores.keys.insertKey(b);
        await stores.keys.retireKey(a.kid, T0 + 900_000, T0 + 1_800_000);
        assert.deepEqual(await stores.keys.listKeys(), [{ ...a, retiresAt: T0 + 900_000, expiresAt: T0 + 1_800_000 }, b]);
      });

      test('deleteKey removes that key only; an unknown kid is a no-op', async () => {
        const a = key(T0);
        const b = key(T0 + 1);
        await stores.keys.insertKey(a);
        await stores.keys.insertKey(b);
        await stores.keys.deleteKey(a.kid);
        await stores.keys.deleteKey('no-such-kid');
        assert.deepEqual(await stores.keys.listKeys(), [b]);
      });

      test('getOrCreateSecret stores the first candidate and returns it ever after', async () => {
        assert.equal(await stores.keys.getOrCreateSecret('refresh-chain-v1', 'first'), 'first');
        assert.equal(await stores.keys.getOrCreateSecret('refresh-chain-v1', 'second'), 'first');
        assert.equal(await stores.keys.getOrCreateSecret('other', 'third'), 'third', 'names are independent');
      });

      test('10 concurrent getOrCreateSecret calls with different candidates all get the one value stored', async () => {
        const candidates = Array.from({ length: 10 }, (_, i) => `candidate-${i}-${randomBytes(8).toString('hex')}`);
        const values = await Promise.all(candidates.map((c) => stores.keys.getOrCreateSecret('race', c)));
        assert.equal(new Set(values).size, 1);
        assert.ok(candidates.includes(values[0]!));
        assert.equal(await stores.keys.getOrCreateSecret('race', 'late'), values[0]);
      });
    });
  });
}
