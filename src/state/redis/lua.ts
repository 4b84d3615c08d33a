/**
 * The Lua scripts of the Redis store: every change that reads before it writes runs as one script, so
 * Redis executes it atomically and no other client (process) can interleave inside it.
 *
 * ## Numbers
 * Lua numbers in Redis are IEEE doubles, like JavaScript's, so `current + delta` gives the same double
 * in a script as in `memoryStore`. Scripts never hand a number back as a Lua number (Redis would
 * truncate it to an integer reply); they format it with {@link FORMAT_NUMBER}: an integral value below
 * 2^53 as `%d`, anything else with the fewest significant digits (15 to 17) that read back as the same
 * double. Integers — budgets keep integer nano-dollars — are therefore exact up to 2^53, and fractional
 * values round-trip exactly rather than drifting as `INCRBYFLOAT` (long double, 17 digits) would.
 *
 * ## TTL arguments
 * Writes take a TTL argument: `''` keeps the key's current expiry (or none), `'-1'` removes it, and a
 * positive integer sets it in milliseconds — the same rules as `memoryStore`.
 */

/** A Lua script with its SHA-1, for `EVALSHA` with an `EVAL` fallback. */
export interface RedisScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
  readonly numberOfKeys: number;
}

function script(name: string, numberOfKeys: number, body: string): RedisScript {
  const lua = `${PRELUDE}\n${body}`;
  let sha: string | undefined;
  return {
    name,
    lua,
    numberOfKeys,
    // Hashed on first use, through `process.getBuiltinModule` rather than a static `node:crypto` import:
    // this module is part of the main entry, which browsers and bundlers load too.
    get sha() {
      return (sha ??= sha1Hex(lua));
    },
  };
}

/** Lua helpers shared by every script. */
const FORMAT_NUMBER = `
local function fmt(x)
  if x ~= x then return 'NaN' end
  if x == math.huge then return 'Infinity' end
  if x == -math.huge then return '-Infinity' end
  if x == math.floor(x) and math.abs(x) < 9007199254740992 then return string.format('%d', x) end
  for p = 15, 16 do
    local s = string.format('%.' .. p .. 'g', x)
    if tonumber(s) == x then return s end
  end
  return string.format('%.17g', x)
end
local function num(s)
  if s == 'Infinity' then return math.huge end
  if s == '-Infinity' then return -math.huge end
  return tonumber(s)
end`;

const PRELUDE = `${FORMAT_NUMBER}
-- The string at key, or nil when absent or when the key holds another type (a list).
local function scalar(key)
  local v = redis.pcall('GET', key)
  if type(v) == 'string' then return v end
  return nil
end
-- SET honouring the TTL argument: '' keeps the expiry, '-1' drops it, N sets it to N ms.
local function write(key, value, ttl)
  if ttl == '' then
    redis.call('SET', key, value, 'KEEPTTL')
  elseif ttl == '-1' then
    redis.call('SET', key, value)
  else
    redis.call('SET', key, value, 'PX', ttl)
  end
end`;

/**
 * `increment(key, delta, { limit, ttlMs })`. ARGV: delta, limit (`''`: none), ttl.
 * Returns `{ ok (1|0), value }`; a positive delta that would pass the limit changes nothing.
 */
export const INCREMENT = script(
  'increment',
  1,
  `
local current = num(scalar(KEYS[1]) or '0') or 0
local delta = num(ARGV[1])
local value = current + delta
if ARGV[2] ~= '' and delta > 0 and value > num(ARGV[2]) then
  return {0, fmt(current)}
end
write(KEYS[1], fmt(value), ARGV[3])
return {1, fmt(value)}`,
);

/**
 * `compareAndSet(key, expected, next, { ttlMs })`. ARGV: expected present (`'1'|'0'`), expected, next, ttl.
 * Returns 1 when it swapped.
 */
export const COMPARE_AND_SET = script(
  'compareAndSet',
  1,
  `
local current = scalar(KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current ~= nil then
  return 0
end
write(KEYS[1], ARGV[3], ARGV[4])
return 1`,
);

/**
 * `takeTokens(key, take)`. ARGV: tokens, capacity, refillPerMs, now, allowDebt (`'1'|'0'`), slack ms,
 * pause ms. The stored `at` is the latest `now` seen, never an earlier one.
 * The bucket is stored as `{"tokens":…,"at":…}` (as `memoryStore` does) and expires once it would have
 * refilled to capacity (plus `slack`), when reading it as absent (full) gives the same answer.
 * Returns `{ ok (1|0), tokens left }`.
 */
export const TAKE_TOKENS = script(
  'takeTokens',
  1,
  `
local take = num(ARGV[1])
local capacity = num(ARGV[2])
local refill = num(ARGV[3])
local now = num(ARGV[4])
local pause = num(ARGV[7] or '0') or 0
local available = capacity
local clock = now
local raw = scalar(KEYS[1])
if raw then
  local t, at = string.match(raw, '^{"tokens":([^,]+),"at":([^}]+)}$')
  if t and at then
    local elapsed = math.max(0, now - num(at))
    available = math.min(capacity, num(t) + elapsed * refill)
    -- The bucket's clock never runs backwards (a process whose clock is behind refills nothing twice).
    clock = math.max(num(at), now)
  end
end
if available >= take or take <= 0 or ARGV[5] == '1' or pause > 0 then
  local remaining = math.min(capacity, available - take)
  if pause > 0 then remaining = math.min(remaining, -pause * refill) end
  local state = '{"tokens":' .. fmt(remaining) .. ',"at":' .. fmt(clock) .. '}'
  local fill = (capacity - remaining) / refill + (clock - now)
  if refill > 0 and fill == fill and fill < 1e12 then
    redis.call('SET', KEYS[1], state, 'PX', fmt(math.ceil(math.max(0, fill)) + num(ARGV[6])))
  else
    redis.call('SET', KEYS[1], state)
  end
  return {1, fmt(remaining)}
end
return {0, fmt(available)}`,
);

/**
 * `append(key, value, { ttlMs })`: RPUSH and the expiry in one step. ARGV: value, ttl.
 * A key holding a string is replaced by a new list, as in `memoryStore`.
 */
export const APPEND = script(
  'append',
  1,
  `
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'list' and kind ~= 'none' then redis.call('DEL', KEYS[1]) end
redis.call('RPUSH', KEYS[1], ARGV[1])
if ARGV[2] == '-1' then
  redis.call('PERSIST', KEYS[1])
elseif ARGV[2] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`,
);

/** Every script, for preloading with `SCRIPT LOAD`. */
export const SCRIPTS: readonly RedisScript[] = [INCREMENT, COMPARE_AND_SET, TAKE_TOKENS, APPEND];

/** SHA-1 of a script, as Redis names it for `EVALSHA`. Only called where Redis is used, i.e. in Node. */
function sha1Hex(text: string): string {
  type Crypto = {
    createHash(algorithm: string): { update(data: string): { digest(encoding: 'hex'): string } };
  };
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const crypto = proc?.getBuiltinModule?.('node:crypto') as Crypto | undefined;
  if (crypto === undefined) throw new Error('redisStore needs node:crypto (Node 20.16 or later)');
  return crypto.createHash('sha1').update(text).digest('hex');
}
