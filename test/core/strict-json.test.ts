import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonObject } from '../../src/core/strict-json.js';

test('valid JSON objects parse exactly as JSON.parse does', () => {
  for (const text of ['{}', '{"a":1,"b":[1,{"c":"d"}],"e":{"a":2}}', '{"k":"va\\"lue","n":null}', ' { "x" : "\\u0041" } ']) {
    assert.deepEqual(parseJsonObject(text), JSON.parse(text));
  }
});

test('a duplicate key at any depth is refused, including one spelled with escapes', () => {
  for (const text of ['{"sub":"a","sub":"b"}', '{"a":{"x":1,"x":2}}', '{"a":[{"y":1,"y":1}]}', '{"alg":"ES256","\\u0061lg":"none"}']) {
    assert.equal(parseJsonObject(text), undefined, text);
  }
});

test('the same key in sibling objects is not a duplicate', () => {
  assert.deepEqual(parseJsonObject('{"a":{"k":1},"b":{"k":2},"c":[{"k":3},{"k":4}]}'), { a: { k: 1 }, b: { k: 2 }, c: [{ k: 3 }, { k: 4 }] });
});

test('anything but an object at the top, or invalid JSON, is refused', () => {
  for (const text of ['[]', '"s"', '1', 'null', '{', '{"a":1,}', '']) assert.equal(parseJsonObject(text), undefined, text);
});
