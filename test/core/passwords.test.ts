import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PasswordHasher } from '../../src/core/passwords.js';
import { TEST_ARGON2 } from '../helper.js';

test('verify under an aborted signal rejects with its reason rather than answering false', async () => {
  // false would read as a wrong password, and the login route would count a failure against the account.
  const hasher = new PasswordHasher(TEST_ARGON2);
  const hash = await hasher.hash('the password');
  const reason = new Error('client gone');
  await assert.rejects(hasher.verify(hash, 'the password', AbortSignal.abort(reason)), (error: unknown) => error === reason);
  await assert.rejects(hasher.verifyNobody('the password', AbortSignal.abort(reason)), (error: unknown) => error === reason);
  assert.equal(await hasher.verify(hash, 'the password', new AbortController().signal), true);
});

test('hash under an aborted signal rejects with its reason', async () => {
  const hasher = new PasswordHasher(TEST_ARGON2);
  const reason = new Error('client gone');
  await assert.rejects(hasher.hash('the password', AbortSignal.abort(reason)), (error: unknown) => error === reason);
});

test('a corrupt stored hash is still a failed check (false), with or without a signal', async () => {
  const hasher = new PasswordHasher(TEST_ARGON2);
  assert.equal(await hasher.verify('$argon2id$corrupt', 'the password'), false);
  assert.equal(await hasher.verify('$argon2id$corrupt', 'the password', new AbortController().signal), false);
});
