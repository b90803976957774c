/**
 * The Lua scripts of the Redis session store, embedded as strings (the build copies only .ts).
 * Each script touches exactly one key, so each is valid on Redis Cluster without hash tags.
 *
 * A session is one STRING holding a MessagePack array (cmsgpack, built into Redis' Lua):
 *
 *   [1] userId  [2] generation  [3] refreshHash  [4] rotatedAt (array, newest first)
 *   [5] createdAt  [6] lastUsedAt  [7] expiresAt  [8] absoluteExpiresAt
 *   [9] userAgent or false  [10] ip or false
 *
 * Integers are packed as integers (times take 9 bytes, small numbers 1), strings with a 1-2 byte
 * header. A HASH would cost more: 3 bytes of field name and header per field, and a user agent
 * over 64 bytes (most browsers') turns it from a listpack into a hashtable, about 2.3x the memory.
 * Numbers reach Redis as integer replies: times are integer milliseconds.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { ROTATION_HISTORY } from '../rotation.js';

export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function lua(name: string, source: string): LuaScript {
  return { name, lua: source, sha: createHash('sha1').update(source).digest('hex') };
}

/** PEXPIREAT/PXAT take an integer; times are integers already, this only guards odd input. */
const MS = `local function ms(x) return string.format('%d', math.ceil(tonumber(x))) end
`;

/** Reads the session at KEYS[1]: its fields, or nil when absent. */
const LOAD = `local function load()
  local packed = redis.call('GET', KEYS[1])
  if not packed then return nil end
  return cmsgpack.unpack(packed)
end
`;

/**
 * KEYS[1] session; ARGV: expire-at, userId, generation, refreshHash, createdAt, lastUsedAt,
 * expiresAt, absoluteExpiresAt, has-UA (0/1), UA, has-IP (0/1), IP, rotatedAt…
 * Fails when the id exists (as the SQL primary key does): a session is never overwritten.
 */
export const CREATE_SESSION = lua('create_session', `${MS}
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('ERR session already exists') end
local rotated = {}
for i = 13, #ARGV do rotated[#rotated + 1] = tonumber(ARGV[i]) end
local s = {ARGV[2], tonumber(ARGV[3]), ARGV[4], rotated, tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]),
  tonumber(ARGV[8]), ARGV[9] == '1' and ARGV[10], ARGV[11] == '1' and ARGV[12]}
redis.call('SET', KEYS[1], cmsgpack.pack(s), 'PXAT', ms(ARGV[1]))
return 1
`);

/** KEYS[1] session. The fields (see above; false reads as nil), or nil when absent. */
export const GET_SESSION = lua('get_session', `${LOAD}
return load()
`);

/** KEYS[1] session; ARGV[1] user id. 1 when the session was that user's and is now deleted. */
export const DELETE_OWNED_SESSION = lua('delete_owned_session', `${LOAD}
local s = load()
if s and s[1] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`);

/**
 * Refresh rotation with reuse detection: decideRotation (src/store/rotation.ts) rule for rule,
 * and its effects, in one atomic call.
 *
 * Comparing hashes: the presented hash is compared with the stored one by plain string equality,
 * where rotation.ts uses a constant-time comparison. Both are SHA-256 hashes of 256-bit random
 * secrets (core/refresh-tokens.ts), and a stored hash is worth nothing without its preimage: it
 * is exactly what a dump of the store holds, which cannot be replayed. So a timing difference
 * could at most reveal what a dump reveals, and the SQL engines' compare-and-set compares the
 * same hash with `=` too. (In Lua 5.1 `==` on strings compares interned pointers anyway.) The
 * byte-by-byte loop it replaces was ~5 µs of the script's ~23 µs of Redis CPU per rotation
 * (INFO commandstats, 6,000 rotations).
 *
 * KEYS[1] session. ARGV[1] now, ARGV[2] presented generation, ARGV[3] grace ms,
 * ARGV[4] idle TTL ms, ARGV[5..] hashes[0..] of the presented secret and its successors.
 *
 * Replies: {'invalid'} | {'deeper', depth} | {'rotated', fields} | {'grace', fields} |
 * {'reused', userId} (the session is deleted; the caller drops it from the user's index).
 */
export const ROTATE_SESSION = lua('rotate_session', `${MS}${LOAD}
local HISTORY = ${ROTATION_HISTORY}
local s = load()
local now = tonumber(ARGV[1])
if not s or now >= s[7] or now >= s[8] then return {'invalid'} end
local depth = s[2] - tonumber(ARGV[2])
if depth < 0 then return {'invalid'} end
local n = #ARGV - 4
if depth >= n then return {'deeper', depth} end

-- Plain equality of two SHA-256 hashes; see "Comparing hashes" above for why not a byte loop.
if ARGV[5 + depth] ~= s[3] then return {'invalid'} end

-- Both outcomes below renew the idle expiry: now + idle TTL, never past the absolute expiry.
local function renew(outcome)
  s[6] = now
  s[7] = math.min(now + tonumber(ARGV[4]), s[8])
  redis.call('SET', KEYS[1], cmsgpack.pack(s), 'PXAT', ms(s[7]))
  return {outcome, s}
end

if depth == 0 then
  if n < 2 then return {'deeper', 1} end
  local history = {now}
  for i = 1, math.min(#s[4], HISTORY - 1) do history[#history + 1] = s[4][i] end
  s[2] = s[2] + 1
  s[3] = ARGV[6]
  s[4] = history
  return renew('rotated')
end

-- A genuine token rotated depth generations ago: its grace runs from its own first rotation and
-- is never extended; if that time is no longer known, it is reuse (fail closed).
local first = s[4][depth]
if first and now - first <= tonumber(ARGV[3]) then return renew('grace') end
redis.call('DEL', KEYS[1])
return {'reused', s[1]}
`);

/**
 * Ends every change of a user's index: members whose absolute expiry has passed (server time,
 * the clock key expiry runs on) are dropped, and the key expires with its latest member.
 */
const INDEX_EPILOGUE = `${MS}
local t = redis.call('TIME')
local server_now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ms(server_now))
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], ms(last[2])) end
return redis.call('ZCARD', KEYS[1])
`;

/** KEYS[1] user index; ARGV[1] score (the session's absolute expiry), ARGV[2] session id. */
export const INDEX_ADD = lua('index_add', `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
${INDEX_EPILOGUE}`);

/** KEYS[1] user index; ARGV session ids to drop (may be none). */
export const INDEX_REMOVE = lua('index_remove', `
if #ARGV > 0 then redis.call('ZREM', KEYS[1], unpack(ARGV)) end
${INDEX_EPILOGUE}`);

/**
 * EVALSHA, falling back to EVAL when the node does not have the script yet (new node, restart,
 * SCRIPT FLUSH): one round trip in the steady state.
 */
export async function runScript(
  client: Redis | Cluster,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
    return client.eval(script.lua, keys.length, ...keys, ...args);
  }
}
