import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LLMError } from '../../src/core/errors.js';
import { memoryStore } from '../../src/state/memoryStore.js';
import { INCREMENT } from '../../src/state/redis/lua.js';
import { redisStore } from '../../src/state/redisStore.js';
import type { StateStore } from '../../src/state/store.js';
import { startRedisServer, type RedisServer } from './redisServer.js';
import { describeStoreContract } from './storeContract.js';

let server: RedisServer;
let raw: Redis;
let next = 0;
/** A store on the test server under a prefix of its own, so tests never see each other's keys. */
const fresh = (prefix = `t${++next}:`) => redisStore({ url: server.url, prefix });

beforeAll(async () => {
  server = await startRedisServer();
  raw = new Redis(server.url, { lazyConnect: true });
  await raw.connect();
});

afterAll(async () => {
  raw?.disconnect();
  await server?.dispose();
});

describeStoreContract('redisStore', () => fresh(), { virtualExpiry: false });

/** Polls `check` until it is true (bounded), for Redis's real expiry. */
async function eventually(check: () => Promise<boolean>, withinMs = 2000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('redisStore', () => {
  it('expires keys after their ttl in real time (set, increment, append, compareAndSet)', async () => {
    const store = fresh();
    await store.set('s', 'v', { ttlMs: 40 });
    await store.increment('n', 1, { ttlMs: 40 });
    await store.append('l', 'a', { ttlMs: 40 });
    await store.compareAndSet('c', undefined, 'open', { ttlMs: 40 });
    await store.set('forever', 'v');
    expect(await store.get('s')).toBe('v');
    expect([...(await store.keys(''))].sort()).toEqual(['c', 'forever', 'l', 'n', 's']);
    await eventually(async () => (await store.keys('')).length === 1);
    expect(await store.get('s')).toBeUndefined();
    expect(await store.get('n')).toBeUndefined();
    expect(await store.list('l')).toEqual([]);
    expect(await store.get('c')).toBeUndefined();
    expect(await store.keys('')).toEqual(['forever']);
    await store.close();
  });

  it('keeps, resets or drops a key expiry as memoryStore does', async () => {
    const store = fresh('ttl:');
    const pttl = (key: string) => raw.pttl(`ttl:${key}`);
    await store.set('a', '1', { ttlMs: 60_000 });
    await store.compareAndSet('a', '1', '2'); // no ttl: keeps the expiry
    expect(await pttl('a')).toBeGreaterThan(50_000);
    await store.increment('n', 1, { ttlMs: 60_000 });
    await store.increment('n', 1); // no ttl: keeps it
    expect(await pttl('n')).toBeGreaterThan(50_000);
    await store.set('a', '3'); // a plain set has no expiry
    expect(await pttl('a')).toBe(-1);
    await store.append('l', 'x', { ttlMs: 60_000 });
    await store.append('l', 'y');
    expect(await pttl('l')).toBeGreaterThan(50_000);
    await store.increment('n', 1, { ttlMs: Infinity }); // an infinite ttl drops it
    expect(await pttl('n')).toBe(-1);
    await store.close();
  });

  it('namespaces keys by prefix: stores with other prefixes never see them, glob characters are literal', async () => {
    const a = fresh('app-a:');
    const b = fresh('app-b:');
    await a.set('k', 'from a');
    await b.set('k', 'from b');
    expect(await raw.get('app-a:k')).toBe('from a');
    expect(await a.get('k')).toBe('from a');
    expect(await b.get('k')).toBe('from b');
    await a.set('x*y', '1');
    await a.set('xzy', '2');
    await a.set('x?', '3');
    expect(await a.keys('x*')).toEqual(['x*y']);
    expect(await a.keys('x?')).toEqual(['x?']);
    expect([...(await a.keys(''))].sort()).toEqual(['k', 'x*y', 'x?', 'xzy']);
    await Promise.all([a.close(), b.close()]);
  });

  it('lists keys with SCAN across many steps', async () => {
    const store = fresh('many:');
    await raw.mset(Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`many:item:${i}`, '1'])));
    await raw.set('many:other', '1');
    const keys = await store.keys('item:');
    expect(keys).toHaveLength(1500);
    expect(new Set(keys).size).toBe(1500);
    await store.close();
  });

  it('adds fractions as doubles, exactly like memoryStore, and integers exactly up to 2^53', async () => {
    const store = fresh();
    await store.increment('f', 0.1);
    expect(await store.increment('f', 0.2)).toEqual({ ok: true, value: 0.1 + 0.2 });
    expect(await store.get('f')).toBe('0.30000000000000004');
    const big = 2 ** 53 - 10;
    await store.increment('i', big);
    expect(await store.increment('i', 9)).toEqual({ ok: true, value: 2 ** 53 - 1 });
    expect(await store.get('i')).toBe(String(2 ** 53 - 1));
    expect(await store.increment('tiny', 5e-7)).toEqual({ ok: true, value: 5e-7 });
    await expect(store.increment('f', Number.NaN)).rejects.toThrow(RangeError);
    await store.close();
  });

  it('gives back tokens (never above capacity), takes into debt with allowDebt, and expires a bucket once full', async () => {
    const store = fresh('tb:');
    const bucket = { capacity: 10, refillPerMs: 0.01 };
    expect(await store.takeTokens('b', { ...bucket, tokens: 8, now: 0 })).toEqual({
      ok: true,
      remaining: 2,
      waitMs: 0,
    });
    expect(await store.takeTokens('b', { ...bucket, tokens: -5, now: 0 })).toEqual({
      ok: true,
      remaining: 7,
      waitMs: 0,
    });
    expect(await store.takeTokens('b', { ...bucket, tokens: -50, now: 0 })).toEqual({
      ok: true,
      remaining: 10,
      waitMs: 0,
    });
    expect(await store.takeTokens('b', { ...bucket, tokens: 14, now: 0, allowDebt: true })).toEqual({
      ok: true,
      remaining: -4,
      waitMs: 0,
    });
    const refused = await store.takeTokens('b', { ...bucket, tokens: 1, now: 0 });
    expect(refused).toEqual({ ok: false, remaining: -4, waitMs: 500 });
    // 14 tokens short of full at 0.01 per ms: 1400 ms, plus the default 5000 ms of slack.
    const pttl = await raw.pttl('tb:b');
    expect(pttl).toBeGreaterThan(6000);
    expect(pttl).toBeLessThanOrEqual(6400);
    await store.close();
  });

  it('answers like memoryStore for any sequence of increments and token takes', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('increment' as const),
        key: fc.constantFrom('a', 'b'),
        delta: fc.oneof(fc.integer({ min: -1e9, max: 1e9 }), fc.double({ min: -100, max: 100, noNaN: true })),
        limit: fc.option(
          fc.oneof(fc.integer({ min: 0, max: 1e9 }), fc.double({ min: 0, max: 100, noNaN: true })),
          {
            nil: undefined,
          },
        ),
      }),
      fc.record({
        kind: fc.constant('take' as const),
        tokens: fc.oneof(fc.integer({ min: -20, max: 30 }), fc.double({ min: -5, max: 15, noNaN: true })),
        advance: fc.integer({ min: 0, max: 2000 }),
        allowDebt: fc.boolean(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const redis = fresh();
        const memory: StateStore = memoryStore();
        let now = 0;
        for (const o of ops) {
          if (o.kind === 'increment') {
            const opts = o.limit === undefined ? undefined : { limit: o.limit };
            expect(await redis.increment(o.key, o.delta, opts)).toEqual(
              await memory.increment(o.key, o.delta, opts),
            );
          } else {
            now += o.advance;
            const take = {
              tokens: o.tokens,
              capacity: 12.5,
              refillPerMs: 0.0037,
              now,
              allowDebt: o.allowDebt,
            };
            expect(await redis.takeTokens('bucket', take)).toEqual(await memory.takeTokens('bucket', take));
          }
        }
        await redis.close();
      }),
      { numRuns: 40 },
    );
  });

  it('reads a key of the other type as absent, and append replaces a string', async () => {
    const store = fresh();
    await store.append('l', 'x');
    expect(await store.get('l')).toBeUndefined();
    await store.set('s', 'v');
    expect(await store.list('s')).toEqual([]);
    await store.append('s', 'y');
    expect(await store.list('s')).toEqual(['y']);
    expect(await store.compareAndSet('l', undefined, 'now a string')).toBe(true);
    await store.close();
  });

  it('reloads its scripts when Redis has forgotten them (EVALSHA, then EVAL)', async () => {
    const store = fresh();
    await store.increment('n', 1);
    await raw.script('FLUSH');
    expect(Number(await raw.script('EXISTS', INCREMENT.sha).then((r) => (r as number[])[0]))).toBe(0);
    expect(await store.increment('n', 1)).toEqual({ ok: true, value: 2 });
    expect(Number(await raw.script('EXISTS', INCREMENT.sha).then((r) => (r as number[])[0]))).toBe(1);
    await store.close();
  });

  it("uses a caller's client and leaves it open on close", async () => {
    const client = new Redis(server.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    const store = redisStore({ client, prefix: 'own:' });
    await store.ready();
    await store.set('k', 'v');
    await store.close();
    expect(client.status).toBe('ready');
    expect(await client.get('own:k')).toBe('v');
    await expect(store.get('k')).rejects.toMatchObject({ kind: 'unavailable', provider: 'redis' });
    client.disconnect();
  });

  it('names Redis in errors without the password of its url', async () => {
    const port = server.port + 1 === 65536 ? server.port - 1 : server.port + 1; // nothing listens there
    const store = redisStore({ url: `redis://:hunter2-very-secret@127.0.0.1:${port}/3`, timeoutMs: 200 });
    const error = await store.get('k').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(LLMError.isInstance(error)).toBe(true);
    const llm = error as LLMError;
    expect(llm).toMatchObject({ kind: 'unavailable', provider: 'redis', retryable: true });
    expect(llm.message).toContain(`redis://127.0.0.1:${port}/3`);
    expect(JSON.stringify(llm.toJSON())).not.toContain('hunter2');
    expect(String((llm.cause as Error | undefined)?.message)).not.toContain('hunter2');
    await store.close();
  });
});
