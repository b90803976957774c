import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS } from '../../src/errors.js';

const documented = [...readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').matchAll(/^\| (\d{3}) \| `(\w+)` \|/gm)]
  .map(([, status, code]) => ({ status: Number(status), code: code! }));

test('every error code in the registry is documented in docs/errors.md with the same status', () => {
  for (const [code, { status }] of Object.entries(ERRORS)) {
    const row = documented.find((d) => d.code === code);
    assert.ok(row, `${code} is not documented`);
    assert.equal(row.status, status, code);
  }
});

test('docs/errors.md documents no code that does not exist, and none twice', () => {
  const codes = documented.map((d) => d.code);
  assert.equal(new Set(codes).size, codes.length);
  for (const code of codes) assert.ok(code in ERRORS, `${code} is documented but not in src/errors.ts`);
});
