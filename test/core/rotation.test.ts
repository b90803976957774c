import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { RefreshChain, formatRefreshToken, hashSecret, parseRefreshToken } from '../../src/core/refresh-tokens.js';
import { decideRotation } from '../../src/store/rotation.js';
import type { RotateRequest, SessionRecord } from '../../src/store/types.js';

const chain = new RefreshChain(createSecretKey(randomBytes(32)));
const T0 = 1_000_000;

function session(secret: Buffer, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: 's', userId: 'u', generation: 0, refreshHash: hashSecret(secret), rotatedAt: [], createdAt: T0, lastUsedAt: T0,
    expiresAt: T0 + 60_000, absoluteExpiresAt: T0 + 120_000, userAgent: null, ip: null, ...overrides,
  };
}

function request(secret: Buffer, generation: number, now: number, depth = 1): RotateRequest {
  return { sessionId: 's', generation, hashes: chain.hashes(secret, depth), now, graceMs: 10_000, idleTtlMs: 60_000 };
}

describe('refresh tokens and rotation decisions', () => {
  test('refresh tokens round-trip through their format and refuse anything else', () => {
    const parts = { sessionId: 'A'.repeat(22), generation: 12, secret: randomBytes(32) };
    assert.deepEqual(parseRefreshToken(formatRefreshToken(parts)), parts);
    const good = formatRefreshToken(parts);
    for (const bad of [good.replace('tgr.', 'tgx.'), `${good}.x`, good.replace('.12.', '.012.'), good.replace('.12.', '.-1.'), good.slice(0, -1), `${good.slice(0, -1)}B`]) {
      assert.equal(parseRefreshToken(bad), undefined, bad);
    }
  });

  test('the chain is deterministic under one key and differs under another', () => {
    const s = randomBytes(32);
    assert.deepEqual(chain.next(s), chain.next(s));
    assert.notDeepEqual(new RefreshChain(createSecretKey(randomBytes(32))).next(s), chain.next(s));
    assert.deepEqual(chain.advance(s, 3), chain.next(chain.next(chain.next(s))));
  });

  test('the current token rotates: next generation, successor hash, rotation time recorded, idle expiry renewed', () => {
    const s = randomBytes(32);
    const d = decideRotation(session(s), request(s, 0, T0 + 1000));
    assert.equal(d.outcome, 'rotated');
    assert.ok(d.outcome === 'rotated');
    assert.equal(d.session.generation, 1);
    assert.equal(d.session.refreshHash, hashSecret(chain.next(s)));
    assert.deepEqual(d.session.rotatedAt, [T0 + 1000]);
    assert.equal(d.session.expiresAt, T0 + 61_000);
  });

  test('idle renewal never passes the absolute expiry', () => {
    const s = randomBytes(32);
    const d = decideRotation(session(s, { expiresAt: T0 + 110_000 }), request(s, 0, T0 + 100_000));
    assert.ok(d.outcome === 'rotated');
    assert.equal(d.session.expiresAt, T0 + 120_000);
  });

  test('the previous token inside its grace window is grace; after it, reuse', () => {
    const s = randomBytes(32);
    const rotated = session(chain.next(s), { generation: 1, rotatedAt: [T0] });
    assert.equal(decideRotation(rotated, request(s, 0, T0 + 10_000)).outcome, 'grace');
    assert.equal(decideRotation(rotated, request(s, 0, T0 + 10_001)).outcome, 'reused');
  });

  test('an older token asks for a deeper hash list, then is judged by its own rotation time', () => {
    const s = randomBytes(32);
    const twice = session(chain.advance(s, 2), { generation: 2, rotatedAt: [T0 + 5000, T0] });
    assert.deepEqual(decideRotation(twice, request(s, 0, T0 + 6000)), { outcome: 'deeper', depth: 2 });
    assert.equal(decideRotation(twice, request(s, 0, T0 + 6000, 2)).outcome, 'grace');
    assert.equal(decideRotation(twice, request(s, 0, T0 + 10_500, 2)).outcome, 'reused');
  });

  test('a wrong secret, a future generation, or an expired session is invalid', () => {
    const s = randomBytes(32);
    assert.equal(decideRotation(session(s), request(randomBytes(32), 0, T0)).outcome, 'invalid');
    assert.equal(decideRotation(session(s), request(s, 1, T0)).outcome, 'invalid');
    assert.equal(decideRotation(session(s), request(s, 0, T0 + 60_000)).outcome, 'invalid');
    assert.equal(decideRotation(null, request(s, 0, T0)).outcome, 'invalid');
  });

  test('a rotated token older than the kept history is treated as reuse (fail closed)', () => {
    const s = randomBytes(32);
    const many = session(chain.advance(s, 5), { generation: 5, rotatedAt: [T0 + 4, T0 + 3, T0 + 2, T0 + 1] });
    assert.equal(decideRotation(many, request(s, 0, T0 + 5, 5)).outcome, 'reused');
  });
});
